/**
 * LSP work-done progress reports absolute percentages; VS Code's progress notification wants increments.
 * Without `vscode` (unit-tested in test/client/progressIncrements.test.ts).
 */
export class ProgressIncrements {
  private last = 0;

  /** The absolute percentage (the last one when a report has none) and the increment to report (never negative). */
  next(percentage: number | undefined): { percent: number; increment: number } {
    const percent = percentage ?? this.last;
    const increment = Math.max(0, percent - this.last);
    this.last = Math.max(this.last, percent);
    return { percent, increment };
  }
}
