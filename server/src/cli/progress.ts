/** Progress output for the CLI: a redrawn bar on a terminal, plain lines (at most one per 10%) otherwise. */
import type { ProgressEvent } from '../pipeline/types';

export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): {
  update(e: ProgressEvent): void;
  note(message: string): void;
  done(): void;
} {
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  let lastDecile = -1;
  let lastDraw = 0;
  let drawn = false;
  return {
    update(e) {
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 80 && e.percent < 100) return;
        lastDraw = now;
        const width = 30;
        const fill = Math.round((e.percent / 100) * width);
        stream.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${e.percent.toFixed(0).padStart(3)}% ${e.message.padEnd(32)}`);
        drawn = true;
      } else {
        const decile = Math.floor(e.percent / 10);
        if (decile > lastDecile) {
          lastDecile = decile;
          stream.write(`${e.percent.toFixed(0)}% ${e.message}\n`);
        }
      }
    },
    /** a line of its own (the bar, if drawn, is cleared first and redrawn by the next update) */
    note(message) {
      if (tty && drawn) stream.write('\r\x1b[K');
      stream.write(message + '\n');
    },
    done() {
      if (tty && drawn) stream.write('\r\x1b[K');
      lastDecile = -1;
      drawn = false;
    },
  };
}
