/** Label value for a pixel the certificate abstains on (predictions are Uint8Array, so at most 255 classes). */
export const ABSTAIN = 255;
/** Most classes a segmenter may have: class ids 0..MAX_CLASSES-1 must stay clear of ABSTAIN. */
export const MAX_CLASSES = 254;
