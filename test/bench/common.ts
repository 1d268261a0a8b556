/**
 * What every part of the bench shares: the median, the load average line, environment switches set for one
 * call, and writing a part's sections into docs/performance.md without touching the others.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** The median (the upper one for an even count). */
export const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** Now, as a section's "Generated … on" says it: 'YYYY-MM-DD HH:MM' (UTC). */
export const startedAt = () => new Date().toISOString().slice(0, 16).replace('T', ' ');

/** The 1/5/15-minute load average as /proc/loadavg prints it. */
export const loadavg = () =>
  existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') : 'unknown';

/** Sets environment variables (undefined: unset) for the time of `f`, then puts back what was there. */
export async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  set(vars);
  try {
    return await f();
  } finally {
    set(before);
  }
}

/** Replaces each '## ' section of `old` that `fresh` has (by its heading line) and appends the new ones. */
export function spliceSections(old: string, fresh: string): string {
  let out = old.trimEnd() + '\n';
  for (const block of fresh.split(/\n(?=## )/)) {
    if (!block.startsWith('## ')) continue;
    const heading = block.split('\n')[0];
    const start = out.indexOf(`\n${heading}\n`);
    const body = block.trimEnd() + '\n';
    if (start < 0) {
      out += `\n${body}`;
      continue;
    }
    const next = out.indexOf('\n## ', start + heading.length + 1);
    out = `${out.slice(0, start + 1)}${body}${next >= 0 ? out.slice(next) : ''}`;
  }
  return out;
}

/** Writes `sections` ('## ' blocks) into `doc` in place of the same headings, keeping every other section. */
export function writeSections(doc: string, sections: string): void {
  writeFileSync(doc, spliceSections(existsSync(doc) ? readFileSync(doc, 'utf8') : '# Performance\n', sections));
}

/** A bench section's opening lines: heading, a slot (index 2) for the description written once the run's loads are known, and a table head. */
export function sectionHead(heading: string, columns: string[]): string[] {
  return [heading, '', '', '', `| ${columns.join(' | ')} |`, `|${columns.map(() => '---|').join('')}`];
}
