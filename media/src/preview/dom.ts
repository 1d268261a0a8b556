/**
 * The preview page's elements: built once, into #app, and handed to the renderers and the controls as one
 * object. Ids and classes are what preview.css and the webview tests use.
 */
import type { FromWebview } from '../../../protocol/webview';
import { createWindowLevel } from '../windowLevel';
import { LAYERS, type LayerId } from './state';

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

export type Ui = ReturnType<typeof buildUi>;

/** The page: header (title, toolbar, window/level, status, progress, error), the viewer and the side panel. */
export function buildUi(app: HTMLElement, post: (m: FromWebview) => void) {
  const certifyBtn = h('button', { id: 'certify', title: 'Certify this image (runs in the certseg worker)' }, 'Certify');
  const cancelBtn = h('button', { id: 'cancel', class: 'secondary', title: 'Cancel the run' }, 'Cancel');
  const imageToggle = h('input', { type: 'checkbox', id: 'toggle-image' });
  const layerToggles = new Map<LayerId, HTMLInputElement>();
  const toolbar = h('div', { class: 'toolbar' }, certifyBtn, cancelBtn, h('label', { title: 'The image itself' }, imageToggle, 'Image'));
  for (const l of LAYERS) {
    const cb = h('input', { type: 'checkbox', id: `toggle-${l.id}` });
    layerToggles.set(l.id, cb);
    toolbar.append(h('label', { title: l.title }, cb, l.label));
  }
  const opacity = h('input', { type: 'range', id: 'opacity', min: '0', max: '1', step: '0.05', title: 'Overlay opacity' });
  const zoomLabel = h('span', { id: 'zoom-label', class: 'muted' }, '');
  const fitBtn = h('button', { id: 'fit', class: 'secondary', title: 'Fit to window (0)' }, 'Fit');
  const oneBtn = h('button', { id: 'one', class: 'secondary', title: 'Actual pixels (1)' }, '1:1');
  toolbar.append(h('label', { class: 'opacity' }, 'Opacity', opacity), fitBtn, oneBtn, zoomLabel);

  const progressBar = h('div', { class: 'bar' });
  const progressText = h('span', { id: 'progress-text' }, '');
  const progress = h('div', { id: 'progress', class: 'progress hidden' }, h('div', { class: 'track' }, progressBar), progressText);
  const errorBox = h('div', { id: 'error', class: 'error hidden' });
  /** what the panel shows and why (no result yet, provisional, cancelled): a line in the header, never over the image */
  const statusLine = h('div', { id: 'status-line', class: 'status-line muted' }, '');

  const img = h('img', { id: 'layer-image', class: 'layer', alt: '' });
  const canvases = new Map<LayerId, HTMLCanvasElement>();
  const stack = h('div', { class: 'stack', id: 'stack' }, img);
  for (const l of LAYERS) {
    const c = h('canvas', { id: `layer-${l.id}`, class: 'layer' });
    canvases.set(l.id, c);
    stack.append(c);
  }
  const stage = h('div', { class: 'stage', id: 'stage', tabindex: '0' }, stack);
  /** DICOM/NIfTI: window/level and the slice slider (display only), drawing into the image layer */
  const windowLevel = createWindowLevel({ img, stage, post });
  const provisionalBadge = h(
    'div',
    { id: 'provisional', class: 'provisional hidden', title: 'A run is in progress: nothing on this picture is certified yet' },
    'PROVISIONAL',
  );

  const readout = h('div', { id: 'readout', class: 'readout' }, 'Hover a pixel');
  const legend = h('div', { id: 'legend', class: 'legend' });
  const metrics = h('div', { id: 'metrics', class: 'metrics' });
  const tauIn = h('input', { type: 'number', id: 'tau', min: '0.51', max: '0.999', step: '0.01' });
  const alphaIn = h('input', { type: 'number', id: 'alpha', min: '0.000001', max: '0.5', step: '0.0001' });
  const corrIn = h(
    'select',
    { id: 'correction' },
    h('option', { value: 'holm' }, 'Holm'),
    h('option', { value: 'bonferroni' }, 'Bonferroni'),
  );
  const recertBtn = h(
    'button',
    { id: 'recertify', class: 'secondary', title: 'Re-apply the test to the stored votes (exploratory)' },
    'Re-certify',
  );
  const reportBtn = h('button', { id: 'open-report', class: 'secondary' }, 'Open report.json');
  const consistencyBtn = h(
    'button',
    {
      id: 'check-consistency',
      class: 'secondary',
      title: 'Measure how the segmentation changes under one-pixel camera shifts, plain and with crop selection (M = 8)',
    },
    'Check translation consistency',
  );
  const consistencyBox = h('div', { id: 'consistency', class: 'metrics' });
  const recert = h(
    'details',
    { class: 'recert' },
    h('summary', {}, 'Re-certify (exploratory)'),
    h('label', {}, 'τ', tauIn),
    h('label', {}, 'α', alphaIn),
    h('label', {}, 'correction', corrIn),
    recertBtn,
    h(
      'p',
      { class: 'muted' },
      'Choosing τ/α after looking at the votes voids the family-wise guarantee: the result is marked exploratory.',
    ),
  );
  const side = h(
    'aside',
    { class: 'side' },
    h('h3', {}, 'Pixel'),
    readout,
    h('h3', {}, 'Legend'),
    legend,
    h('h3', {}, 'Metrics'),
    metrics,
    recert,
    reportBtn,
    h('h3', {}, 'Translation consistency'),
    consistencyBox,
    consistencyBtn,
  );
  const title = h('div', { class: 'title', id: 'title' }, app.getAttribute('data-image-name') ?? '');
  app.append(
    h('header', {}, title, toolbar, windowLevel.element, statusLine, progress, errorBox),
    h('main', {}, h('div', { class: 'viewer' }, stage, provisionalBadge), side),
  );

  return {
    title,
    statusLine,
    certifyBtn,
    cancelBtn,
    imageToggle,
    layerToggles,
    opacity,
    zoomLabel,
    fitBtn,
    oneBtn,
    progress,
    progressBar,
    progressText,
    errorBox,
    img,
    canvases,
    stack,
    stage,
    windowLevel,
    provisionalBadge,
    readout,
    legend,
    metrics,
    tauIn,
    alphaIn,
    corrIn,
    recertBtn,
    reportBtn,
    consistencyBtn,
    consistencyBox,
  };
}
