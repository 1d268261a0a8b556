/**
 * The colour map of certified radii (viridis), one definition for the written overlays
 * (server/src/image/overlay.ts) and the preview's radius layer (media/src/preview/render.ts).
 */

export type RGB = [number, number, number];

/** Viridis control points (matplotlib's, sampled every 1/8), linearly interpolated. */
const VIRIDIS: RGB[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** Viridis colour for t in [0,1] (clamped). */
export function viridis(t: number): RGB {
  const x = Math.min(1, Math.max(0, Number.isNaN(t) ? 0 : t)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - k;
  const a = VIRIDIS[k];
  const b = VIRIDIS[k + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}
