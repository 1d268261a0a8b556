/**
 * How images and their ground-truth masks are named: the one home of these rules, used by the worker, the
 * CLI (dataset discovery, reading) and the extension (menus, pickers, right-click Certify). Pure: no I/O.
 */

/**
 * Raster formats the extension offers its commands and editors on. package.json's `when` regexes and editor
 * selectors accept exactly these plus {@link MEDICAL_EXTENSIONS} (test/architecture/extensions.test.ts).
 */
export const PREVIEW_IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff'] as const;
/** Raster formats the worker and the CLI read (dataset discovery included): the above plus WebP and GIF. */
export const IMAGE_EXTENSIONS = [...PREVIEW_IMAGE_EXTENSIONS, '.webp', '.gif'] as const;
/** DICOM and NIfTI by name (an extensionless DICOM is recognised by its preamble, server/src/image/medical.ts). */
export const MEDICAL_EXTENSIONS = ['.dcm', '.dicom', '.nii', '.nii.gz'] as const;

/*
 * How a ground-truth mask is named after its image: the one rule, used by dataset discovery (worker, CLI)
 * and by the extension's right-click Certify (pure: no I/O). Common conventions: the same base name in a
 * masks/labels/gt/annotations folder beside or above the image, or a suffix on the base name
 * (PH2's `IMD002_lesion.bmp`, `_mask`, `-mask`, `.mask`, `_seg`, `_segmentation`, `_gt`, `-gt`, `_label`),
 * in any image format (a.jpg ↔ a.png).
 */
export const MASK_SUFFIXES = [
  '_mask',
  '-mask',
  '.mask',
  '_lesion',
  '_seg',
  '-seg',
  '_segmentation',
  '_gt',
  '-gt',
  '_label',
  '_labels',
] as const;
export const MASK_DIRS = ['masks', 'mask', 'labels', 'annotations', 'gt', 'ground_truth', 'groundtruth'] as const;
// DICOM and NIfTI label maps too (read by image/medical.ts readMedicalLabels)
const MASK_EXTENSIONS = ['.png', '.bmp', '.tif', '.tiff', '.gif', '.jpg', '.jpeg', '.webp', '.nii.gz', '.nii', '.dcm'];

/** The id a mask file's base name stands for: its base name without a mask suffix. */
export function maskIdOf(maskBase: string): string {
  const lower = maskBase.toLowerCase();
  for (const s of MASK_SUFFIXES) if (lower.endsWith(s) && maskBase.length > s.length) return maskBase.slice(0, -s.length);
  return maskBase;
}

/** Does a base name look like a mask (by its suffix)? Lists of images leave these out. */
export function looksLikeMask(base: string): boolean {
  return maskIdOf(base) !== base;
}

/**
 * Candidate mask paths for an image, most specific first: suffixed names beside it (any extension), then the
 * same name (and suffixed) in a mask folder beside or above it. `join`/`dirname` are passed in so the rule
 * stays free of Node (and testable on any path flavour).
 */
export function maskCandidates(
  imagePath: string,
  p: { join(...s: string[]): string; dirname(s: string): string; basename(s: string): string; extname(s: string): string },
): string[] {
  const dir = p.dirname(imagePath);
  // x.nii.gz has one extension, .nii.gz (extname says .gz)
  const ext = imagePath.toLowerCase().endsWith('.nii.gz') ? imagePath.slice(-7) : p.extname(imagePath);
  const stem = p.basename(imagePath).slice(0, p.basename(imagePath).length - ext.length);
  const exts = [ext, ...MASK_EXTENSIONS.filter((e) => e !== ext.toLowerCase())];
  const out: string[] = [];
  for (const s of MASK_SUFFIXES) for (const e of exts) out.push(p.join(dir, stem + s + e));
  // PH2's own layout: IMD002/IMD002_Dermoscopic_Image/IMD002.bmp with IMD002/IMD002_lesion/IMD002_lesion.bmp
  for (const e of exts) out.push(p.join(p.dirname(dir), `${stem}_lesion`, `${stem}_lesion${e}`));
  for (const m of MASK_DIRS) {
    for (const base of [dir, p.dirname(dir)]) {
      for (const e of exts) {
        out.push(p.join(base, m, stem + e));
        for (const s of MASK_SUFFIXES) out.push(p.join(base, m, stem + s + e));
      }
    }
  }
  return out.filter((c) => c !== imagePath);
}
