/**
 * Editor support for `*.card.json`: the same check as `certseg card check` (models/cardCheck.ts), as
 * diagnostics at the card field each problem is about, and hovers with what the model declares and what the
 * clean pass gave. One source per problem: structure is the JSON Schema's (package.json jsonValidation
 * applies server/schemas/model-card.schema.json), so a card that fails the schema gets nothing from here;
 * this module reports what needs the card's logic or its model.
 */
import { isCertsegError } from '../core/errors';
import { checkCard, type CardCheckResult } from '../models/cardCheck';
import { checkConsistency, matchesCardSchema } from '../models/loadCard';

export interface CardDiagnostic {
  message: string;
  severity: 'error' | 'warning' | 'info';
  /** JSON path of the field (empty = the whole document) */
  path: (string | number)[];
}

/**
 * The card field a check message is about. Messages name fields the way the card writes them
 * ("input.channels", "output.name"), or say which tensor or file failed.
 */
export function fieldOf(message: string): (string | number)[] {
  if (/model file not found|cannot load the model|model \.json|TF\.js/i.test(message)) return ['file'];
  if (/no timestep input named/.test(message)) return ['denoiser', 'timestep', 'input'];
  const named = /has no (input|output) named/.exec(message);
  if (named) return [named[1], 'name'];
  if (/(segmenter|denoiser) output has \d+ channels/.test(message)) return ['output', 'channels'];
  if (/output batch is/.test(message)) return ['output', 'batch'];
  if (/produced (NaN|label)/.test(message)) return ['output', 'kind'];
  const field = /\b(input|output|denoiser|alternates)\.(\w+)/.exec(message);
  if (field) return [field[1], field[2]];
  if (/\b(schedule|σ|sigma)\b/.test(message)) return ['denoiser'];
  return [];
}

/** Diagnostics for a card's text, and the check result (for hovers) when the check ran. */
export async function cardDiagnostics(
  text: string,
  cardPath: string,
): Promise<{ diagnostics: CardDiagnostic[]; check: CardCheckResult | null }> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { diagnostics: [], check: null }; // JSON syntax: the JSON language service reports it
  }
  if (!matchesCardSchema(json)) return { diagnostics: [], check: null };
  const problem = checkConsistency(json);
  if (problem) return { diagnostics: [{ message: problem.message, severity: 'error', path: problem.path }], check: null };
  try {
    const check = await checkCard(cardPath, { text, reps: 1 });
    const diagnostics: CardDiagnostic[] = [];
    for (const e of check.engines) {
      for (const w of e.warnings)
        diagnostics.push({
          message: `${e.engine}: ${w}`,
          severity: 'warning',
          path: check.role === 'segmenter' ? ['output', 'kind'] : ['input', 'range'],
        });
    }
    for (const [engine, rel] of Object.entries(json.alternates ?? {})) {
      if (!check.engines.some((e) => e.engine === engine))
        diagnostics.push({
          message: `alternates.${engine}: ${rel} not found (the ${engine} engine cannot run this card)`,
          severity: 'warning',
          path: ['alternates', engine],
        });
    }
    return { diagnostics, check };
  } catch (e) {
    const message = isCertsegError(e) ? e.message.replace(/^[^:]*\.card\.json: /, '') : String((e as Error)?.message ?? e);
    return { diagnostics: [{ message, severity: 'error', path: fieldOf(message) }], check: null };
  }
}

const dims = (d: (number | null)[] | null) => (d ? `[${d.map((v) => v ?? '?').join(',')}]` : 'shape not declared');

/** Hover text for a top-level card key, from the last check (null: nothing to add). */
export function cardHover(key: string, check: CardCheckResult | null): string | null {
  if (!check) return null;
  const lines: string[] = [];
  for (const e of check.engines) {
    const head = `**${e.engine}** (${e.info.backend}): `;
    switch (key) {
      case 'input':
        lines.push(
          head +
            e.inputs.map((t) => `\`${t.name}\` ${t.dtype ?? ''} ${dims(t.dims)}`).join(', ') +
            ` · fed ${e.fed.map((f) => `${dims(f.dims)}`).join(', ')}`,
        );
        break;
      case 'output':
        lines.push(
          head + e.outputs.map((t) => `\`${t.name}\` ${t.dtype ?? ''} ${dims(t.dims)}`).join(', ') + ` · returned ${dims(e.returned.dims)}`,
        );
        break;
      case 'classes':
        if (e.histogram) lines.push(head + e.histogram.map((c) => `${c.name} ${(100 * c.fraction).toFixed(1)}%`).join(', '));
        break;
      case 'denoiser':
        if (e.denoise)
          lines.push(
            head +
              `σ = ${e.denoise.sigma}${e.denoise.timestep !== null ? `, t* = ${e.denoise.timestep}` : ''}: PSNR ${e.denoise.psnrNoisy.toFixed(1)} → ${e.denoise.psnrDenoised.toFixed(1)} dB`,
          );
        break;
      case 'file':
      case 'alternates':
        lines.push(head + `${e.file}, ${e.msPerPass.toFixed(1)} ms per forward pass`);
        break;
      default:
        return null;
    }
  }
  if (!lines.length) return null;
  const on = `clean pass on ${check.image.source.startsWith('a generated') ? 'a generated test pattern' : check.image.source} (${check.image.width}×${check.image.height})`;
  return [`**${key}** — checked against the model (${on}):`, '', ...lines.map((l) => `- ${l}`)].join('\n');
}
