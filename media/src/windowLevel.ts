/**
 * Window/level and the slice slider of the preview, for DICOM and NIfTI files (display only: certification
 * keeps the worker's window, recorded in report.image.intensity). The host sends one plane's real
 * intensities (certseg/displayImage); this module maps them through a window to 8-bit grey (or RGB) and hands
 * the picture to the preview's image layer as a blob URL, so zoom, pan and overlays work as for a PNG.
 *
 * Window: [center − width/2, center + width/2] → 0..255, clipped; MONOCHROME1 inverted after the window, as
 * certification maps it. Change it with the presets, the two number fields, or by dragging on the image with
 * Shift held (or with "Drag adjusts window" on): right = wider, down = higher level — the usual radiology
 * convention.
 */
import type { FromWebview, MedicalImageView } from '../../protocol/webview';

export interface Win {
  center: number;
  width: number;
}

/** Presets in Hounsfield units: meaningful for CT (NIfTI volumes are often CT); offered for every file. */
export const HU_PRESETS: { id: string; label: string; win: Win }[] = [
  { id: 'lung', label: 'Lung (−600/1500 HU)', win: { center: -600, width: 1500 } },
  { id: 'bone', label: 'Bone (400/1800 HU)', win: { center: 400, width: 1800 } },
  { id: 'soft', label: 'Soft tissue (40/400 HU)', win: { center: 40, width: 400 } },
  { id: 'brain', label: 'Brain (40/80 HU)', win: { center: 40, width: 80 } },
];

/** RGBA bytes of a plane through a window (pure: tested against the formula). */
export function windowedRgba(
  values: Float32Array,
  channels: 1 | 3,
  width: number,
  height: number,
  win: Win,
  invert: boolean,
): Uint8ClampedArray<ArrayBuffer> {
  const n = width * height;
  const out = new Uint8ClampedArray(new ArrayBuffer(4 * n));
  const lo = win.center - win.width / 2;
  const scale = 255 / Math.max(win.width, 1e-12);
  const map = (v: number) => {
    const t = Math.min(255, Math.max(0, (v - lo) * scale));
    return Math.round(invert ? 255 - t : t);
  };
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    if (channels === 3) {
      out[o] = map(values[3 * i]);
      out[o + 1] = map(values[3 * i + 1]);
      out[o + 2] = map(values[3 * i + 2]);
    } else out[o] = out[o + 1] = out[o + 2] = map(values[i]);
    out[o + 3] = 255;
  }
  return out;
}

/** The window after a drag of (dx, dy) screen pixels, sensitivity scaled to the plane's value range. */
export function dragWindow(start: Win, dx: number, dy: number, range: { min: number; max: number }): Win {
  const span = Math.max(range.max - range.min, 1e-6);
  const k = span / 512; // a 512-pixel drag sweeps the whole range
  return { center: start.center + dy * k, width: Math.max(span / 1000, start.width + dx * k) };
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

// six significant digits: a window like 127.5/255 shows as is (a rounded field would move it on the next edit)
const fmt = (v: number) => Number(v.toPrecision(6)).toString();

export interface WindowLevel {
  /** the controls (hidden until a medical image arrives) */
  element: HTMLElement;
  /** a medical image is shown: the image layer is ours, the host's init must not clear it */
  active(): boolean;
  show(m: MedicalImageView): void;
  /** the slice a shown result was certified on (volumes): said next to the slider when another is shown */
  setResultSlice(s: { axis: string; index: number } | null | undefined): void;
}

export function createWindowLevel(deps: { img: HTMLImageElement; stage: HTMLElement; post(m: FromWebview): void }): WindowLevel {
  let cur: MedicalImageView | null = null;
  let win: Win = { center: 0, width: 1 };
  let url: string | null = null;
  let resultSlice: { axis: string; index: number } | null = null;
  let rendering = false;
  let dirty = false;

  const preset = el('select', {
    id: 'wl-preset',
    title: 'Window presets (display only: certification uses the file window, else the percentile window)',
  });
  const centerIn = el('input', { type: 'number', id: 'wl-center', title: 'Window level (center)', step: 'any' });
  const widthIn = el('input', { type: 'number', id: 'wl-width', title: 'Window width', step: 'any', min: '0' });
  const dragToggle = el('input', { type: 'checkbox', id: 'wl-drag' });
  const sliceAxis = el(
    'select',
    { id: 'slice-axis', title: 'Slice axis' },
    el('option', { value: 'z' }, 'z'),
    el('option', { value: 'y' }, 'y'),
    el('option', { value: 'x' }, 'x'),
  );
  const slider = el('input', { type: 'range', id: 'slice', min: '0', max: '0', step: '1', title: 'Slice of the volume' });
  const sliceLabel = el('span', { id: 'slice-label', class: 'muted' });
  const sliceBox = el('span', { class: 'hidden', id: 'slice-box' }, el('label', {}, 'Slice', sliceAxis, slider), sliceLabel);
  const info = el('span', { id: 'wl-info', class: 'muted' });
  const element = el(
    'div',
    { class: 'toolbar hidden', id: 'window-level' },
    el('label', { title: 'Display only: certification keeps the window in report.image.intensity' }, 'Window', preset),
    el('label', {}, 'L', centerIn),
    el('label', {}, 'W', widthIn),
    el(
      'label',
      { title: 'Drag on the image: right = wider, down = higher level (or hold Shift while dragging)' },
      dragToggle,
      'Drag adjusts window',
    ),
    sliceBox,
    info,
  );

  function presets(m: MedicalImageView): { id: string; label: string; win: Win }[] {
    const out = [
      {
        id: 'file',
        label: `${m.window.source === 'dicom' ? 'File window' : 'Percentile window'} (certification)`,
        win: { center: m.window.center, width: m.window.width },
      },
    ];
    if (m.window.source === 'dicom') out.push({ id: 'percentile', label: 'Percentile 0.5–99.5%', win: m.percentile });
    out.push({
      id: 'full',
      label: 'Full range',
      win: { center: (m.range.min + m.range.max) / 2, width: Math.max(m.range.max - m.range.min, 1e-6) },
    });
    return [...out, ...HU_PRESETS];
  }

  function render() {
    if (!cur) return;
    if (rendering) return void (dirty = true);
    rendering = true;
    const c = document.createElement('canvas');
    c.width = cur.width;
    c.height = cur.height;
    c.getContext('2d')!.putImageData(
      new ImageData(windowedRgba(cur.values, cur.channels, cur.width, cur.height, win, cur.invert), cur.width, cur.height),
      0,
      0,
    );
    // a blob: URL (allowed by the page's CSP img-src) feeds the same <img> layer a PNG would
    c.toBlob((blob) => {
      rendering = false;
      if (blob) {
        const old = url;
        url = URL.createObjectURL(blob);
        deps.img.src = url;
        if (old) deps.img.addEventListener('load', () => URL.revokeObjectURL(old), { once: true });
      }
      if (dirty) {
        dirty = false;
        render();
      }
    });
  }

  function setWin(w: Win, presetId = '') {
    win = w;
    centerIn.value = fmt(w.center);
    widthIn.value = fmt(w.width);
    preset.value = presetId;
    element.dataset.center = String(w.center);
    element.dataset.width = String(w.width);
    render();
  }

  function renderSliceLabel() {
    if (!cur?.slice) return;
    const other = resultSlice && (resultSlice.axis !== cur.slice.axis || resultSlice.index !== cur.slice.index);
    sliceLabel.textContent =
      `${cur.slice.axis}:${cur.slice.index} of ${slider.max}` +
      (other ? ` — the result shown is of slice ${resultSlice!.axis}:${resultSlice!.index}` : '');
  }

  preset.addEventListener('change', () => {
    const p = cur && presets(cur).find((x) => x.id === preset.value);
    if (p) setWin(p.win, p.id);
  });
  const typed = () => {
    const c = Number(centerIn.value);
    const w = Number(widthIn.value);
    if (Number.isFinite(c) && Number.isFinite(w) && w > 0) setWin({ center: c, width: w });
  };
  centerIn.addEventListener('change', typed);
  widthIn.addEventListener('change', typed);
  const sizeOf = (axis: string) => (!cur ? 1 : axis === 'x' ? cur.size[0] : axis === 'y' ? cur.size[1] : cur.size[2]);
  sliceAxis.addEventListener('change', () => {
    const n = sizeOf(sliceAxis.value);
    deps.post({ type: 'slice', axis: sliceAxis.value, index: Math.floor(n / 2) });
  });
  slider.addEventListener('change', () => deps.post({ type: 'slice', axis: sliceAxis.value, index: Number(slider.value) }));
  slider.addEventListener('input', () => {
    if (cur?.slice) sliceLabel.textContent = `${sliceAxis.value}:${slider.value} of ${slider.max}`;
  });

  // Drag on the image: registered on the stage's parent in the capture phase, so the preview's own pan never
  // sees a window drag.
  let drag: { x: number; y: number; start: Win } | null = null;
  const host = deps.stage.parentElement ?? deps.stage;
  host.addEventListener(
    'pointerdown',
    (e) => {
      if (!cur || !(e.shiftKey || dragToggle.checked)) return;
      e.stopPropagation();
      drag = { x: e.clientX, y: e.clientY, start: win };
      deps.stage.setPointerCapture(e.pointerId);
    },
    true,
  );
  host.addEventListener(
    'pointermove',
    (e) => {
      if (!drag || !cur) return;
      e.stopPropagation();
      setWin(dragWindow(drag.start, e.clientX - drag.x, e.clientY - drag.y, cur.range));
    },
    true,
  );
  host.addEventListener(
    'pointerup',
    (e) => {
      if (!drag) return;
      e.stopPropagation();
      drag = null;
    },
    true,
  );

  return {
    element,
    active: () => cur !== null,
    show(m) {
      const first = !cur;
      const plane = cur && cur.width === m.width && cur.height === m.height;
      const prevPreset = preset.value;
      cur = m;
      element.classList.remove('hidden');
      info.textContent = `${m.format === 'dicom' ? 'DICOM' : 'NIfTI'}${m.photometric ? ` ${m.photometric}` : ''} · values ${fmt(m.range.min)}…${fmt(m.range.max)}`;
      preset.replaceChildren(el('option', { value: '' }, 'Custom'), ...presets(m).map((p) => el('option', { value: p.id }, p.label)));
      const volume = m.size[2] > 1;
      sliceBox.classList.toggle('hidden', !volume);
      if (volume && m.slice) {
        sliceAxis.value = m.slice.axis;
        slider.max = String(sizeOf(m.slice.axis) - 1);
        slider.value = String(m.slice.index);
        renderSliceLabel();
      }
      // another slice of the same volume keeps the window the user chose; a new file starts at certification's
      if (first || !plane) setWin({ center: m.window.center, width: m.window.width }, 'file');
      else setWin(win, prevPreset);
      document.body.dataset.medical = volume ? 'volume' : 'image';
    },
    setResultSlice(s) {
      resultSlice = s ?? null;
      renderSliceLabel();
    },
  };
}
