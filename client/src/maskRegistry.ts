/**
 * The ground-truth masks known for images (dataset pairs listed by the worker for the Datasets view),
 * used instead of guessing a mask by file name. One instance per extension (ctx.ts), shared by the
 * Datasets view, which fills it, and the preview, which reads it. Without `vscode`
 * (unit-tested in test/client/maskRegistry.test.ts).
 */
export class MaskRegistry {
  private readonly masks = new Map<string, string | null>();

  /** The image's mask (null: known to have none). */
  remember(image: string, mask: string | null): void {
    this.masks.set(image, mask);
  }

  rememberAll(pairs: readonly { image: string; mask: string | null }[]): void {
    for (const p of pairs) this.remember(p.image, p.mask);
  }

  /** The known mask (or known absence) of the image, else what `guess` finds (the naming rule). */
  maskFor(image: string, guess: (image: string) => string | null): string | null {
    return this.masks.has(image) ? this.masks.get(image)! : guess(image);
  }
}
