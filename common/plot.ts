/**
 * Self-contained SVG charts (no external libraries, no scripts, no external fonts): line or step plots
 * with axes, "nice" ticks, grid and a legend. The result renders in browsers, VS Code webviews and
 * librsvg (sharp).
 */

export interface Series {
  label: string;
  points: { x: number; y: number }[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** axis ranges; default: from the data (y padded to nice ticks) */
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  /** draw as a right-continuous step function (value holds until the next x) */
  step?: boolean;
  /** dots at the data points (default: true for line charts with ≤ 30 points per series) */
  markers?: boolean;
}

/** Tableau 10 */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function escapeXml(s: string): string {
  return String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Tick values at 1/2/5·10^k spacing covering [lo, hi] with about `count` ticks. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  const start = Math.ceil(lo / step - 1e-9);
  for (let k = start; k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

const num = (v: number) => (Number.isFinite(v) ? Number(v.toFixed(2)) : 0);

/** A generic multi-series line (or step) chart as an SVG document string. */
export function lineChartSvg(series: Series[], opts: ChartOptions): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 420;
  const m = { left: 70, right: 20, top: 44, bottom: 56 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const finite = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)));
  const xs = finite.map((p) => p.x);
  const ys = finite.map((p) => p.y);
  let xMin = opts.xMin ?? (xs.length ? Math.min(...xs) : 0);
  let xMax = opts.xMax ?? (xs.length ? Math.max(...xs) : 1);
  let yMin = opts.yMin ?? (ys.length ? Math.min(...ys) : 0);
  let yMax = opts.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (!(xMax > xMin)) [xMin, xMax] = [xMin - 0.5, xMin + 0.5];
  if (!(yMax > yMin)) [yMin, yMax] = [yMin - 0.5, yMin + 0.5];
  let xTicks = niceTicks(xMin, xMax, 6);
  let yTicks = niceTicks(yMin, yMax, 5);
  // extend unspecified y bounds to the ticks around the data
  if (opts.yMin === undefined || opts.yMax === undefined) {
    const step = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
    if (opts.yMin === undefined && yTicks[0] > yMin) yMin = yTicks[0] - step;
    else if (opts.yMin === undefined) yMin = Math.min(yMin, yTicks[0]);
    if (opts.yMax === undefined && yTicks[yTicks.length - 1] < yMax) yMax = yTicks[yTicks.length - 1] + step;
    yTicks = niceTicks(yMin, yMax, 5);
  }
  xTicks = xTicks.filter((t) => t >= xMin - 1e-12 && t <= xMax + 1e-12);
  const X = (x: number) => m.left + ((x - xMin) / (xMax - xMin)) * pw;
  const Y = (y: number) => m.top + ph - ((y - yMin) / (yMax - yMin)) * ph;
  const cx = (x: number) => num(Math.min(m.left + pw, Math.max(m.left, X(x))));
  const cy = (y: number) => num(Math.min(m.top + ph, Math.max(m.top, Y(y))));

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${num(W / 2)}" y="26" text-anchor="middle" font-size="15" font-weight="bold" fill="#222">${escapeXml(opts.title)}</text>`,
  );
  // grid + ticks
  parts.push('<g stroke="#e5e5e5" stroke-width="1">');
  for (const t of yTicks) parts.push(`<line x1="${m.left}" y1="${cy(t)}" x2="${m.left + pw}" y2="${cy(t)}"/>`);
  for (const t of xTicks) parts.push(`<line x1="${cx(t)}" y1="${m.top}" x2="${cx(t)}" y2="${m.top + ph}"/>`);
  parts.push('</g>');
  parts.push(
    `<g stroke="#333" stroke-width="1"><line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}"/><line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}"/></g>`,
  );
  parts.push('<g fill="#333">');
  for (const t of yTicks) parts.push(`<text x="${m.left - 8}" y="${num(cy(t) + 4)}" text-anchor="end">${fmt(t)}</text>`);
  for (const t of xTicks) parts.push(`<text x="${cx(t)}" y="${m.top + ph + 18}" text-anchor="middle">${fmt(t)}</text>`);
  parts.push('</g>');
  parts.push(`<text x="${num(m.left + pw / 2)}" y="${H - 14}" text-anchor="middle" fill="#222">${escapeXml(opts.xLabel)}</text>`);
  parts.push(
    `<text x="18" y="${num(m.top + ph / 2)}" text-anchor="middle" fill="#222" transform="rotate(-90 18 ${num(m.top + ph / 2)})">${escapeXml(opts.yLabel)}</text>`,
  );
  // series
  series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (pts.length === 0) return;
    const coords: string[] = [];
    pts.forEach((p, i) => {
      if (opts.step && i > 0) coords.push(`${cx(p.x)},${cy(pts[i - 1].y)}`);
      coords.push(`${cx(p.x)},${cy(p.y)}`);
    });
    if (opts.step && pts[pts.length - 1].x < xMax) coords.push(`${cx(xMax)},${cy(pts[pts.length - 1].y)}`);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round" points="${coords.join(' ')}"><title>${escapeXml(s.label)}</title></polyline>`,
    );
    const markers = opts.markers ?? (!opts.step && pts.length <= 30);
    if (markers) {
      parts.push(`<g fill="${color}">`);
      for (const p of pts) parts.push(`<circle cx="${cx(p.x)}" cy="${cy(p.y)}" r="3"/>`);
      parts.push('</g>');
    }
  });
  // legend (top right, inside the plot)
  if (series.length > 0) {
    const lw = Math.min(pw - 10, 24 + 7 * Math.max(...series.map((s) => s.label.length)));
    const lx = m.left + pw - lw - 8;
    const ly = m.top + 8;
    parts.push(
      `<rect x="${num(lx)}" y="${ly}" width="${num(lw)}" height="${series.length * 18 + 8}" fill="#ffffff" fill-opacity="0.85" stroke="#ccc"/>`,
    );
    series.forEach((s, k) => {
      const y = ly + 16 + k * 18;
      parts.push(
        `<line x1="${num(lx + 6)}" y1="${y - 4}" x2="${num(lx + 20)}" y2="${y - 4}" stroke="${PALETTE[k % PALETTE.length]}" stroke-width="3"/>`,
      );
      parts.push(`<text x="${num(lx + 24)}" y="${y}" fill="#222">${escapeXml(s.label)}</text>`);
    });
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/**
 * Certified accuracy vs L2 radius: a step plot with x from 0 and y in [0,1] (a curve of the fraction of
 * pixels/images certified correct at radius ≥ r is non-increasing and right-continuous).
 */
export function certifiedAccuracyVsRadiusSvg(
  series: { label: string; points: { radius: number; accuracy: number }[] }[],
  opts: { title: string; xLabel: string; yLabel: string; width?: number; height?: number },
): string {
  return lineChartSvg(
    series.map((s) => ({ label: s.label, points: s.points.map((p) => ({ x: p.radius, y: p.accuracy })) })),
    { ...opts, step: true, xMin: 0, yMin: 0, yMax: 1 },
  );
}
