/**
 * Reads, validates and resolves a model card. Every failure is a one-line CertsegError naming the card:
 * schema problems and contradictions are 'config', missing model files are 'model'.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import schema from '../../schemas/model-card.schema.json';
import { CertsegError } from '../core/errors';
import { packagePath } from '../paths';
import type { ModelCard, ResolvedCard, SegmenterOutputSpec } from './card';

/** Where the schema lives in the repository / extension package (for package.json jsonValidation). */
export const MODEL_CARD_SCHEMA_REL = 'server/schemas/model-card.schema.json';

/** Absolute path of the schema on disk (works from src and dist), or null when the package lacks it. */
export function modelCardSchemaPath(): string | null {
  const p = packagePath(MODEL_CARD_SCHEMA_REL);
  return existsSync(p) ? p : null;
}

const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
const validate = ajv.compile<ModelCard>(schema);

/** Does `json` pass the card schema? (The editor leaves schema problems to VS Code's JSON support.) */
export function matchesCardSchema(json: unknown): json is ModelCard {
  return validate(json);
}

function where(p: string): string {
  return p.replace(/^\//, '').split('/').filter(Boolean)
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

const CONDITION: [string, string][] = [
  ['#/allOf/0/', 'segmenter cards need it'],
  ['#/allOf/1/', 'denoiser cards need it'],
  ['#/properties/denoiser/allOf/0/', 'ddpm-eps denoisers need it'],
];

/** The first schema problem, in words. */
export function describeSchemaError(errors: ErrorObject[]): string {
  // sizeOrNull is the only anyOf: report it as one message rather than its first branch
  const e = errors.find((x) => x.keyword === 'anyOf') ?? errors[0];
  const at = where(e.instancePath);
  const subject = at || 'card';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'anyOf': return `${subject} must be a positive integer or null`;
    case 'enum': return `${subject} must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'const': return `${subject} must be ${JSON.stringify(p.allowedValue)}`;
    case 'required': {
      const why = CONDITION.find(([k]) => e.schemaPath.startsWith(k));
      return `${at ? `${at}: ` : ''}missing required property "${String(p.missingProperty)}"${why ? ` (${why[1]})` : ''}`;
    }
    case 'additionalProperties': return `${subject} has unknown property "${String(p.additionalProperty)}"`;
    case 'type': return `${subject} must be ${/^[aeiou]/.test(String(p.type)) ? 'an' : 'a'} ${String(p.type)}`;
    case 'pattern': return at.endsWith('.color') ? `${at} must be a colour like "#ff0000"` : `${subject} must match ${String(p.pattern)}`;
    default: return `${subject} ${e.message ?? 'is invalid'}`;
  }
}

/** How a card path shows in messages: relative to the working directory when inside it. */
export function displayPath(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

export function engineForFile(file: string): 'onnx' | 'tfjs' | null {
  const f = file.toLowerCase();
  if (f.endsWith('.onnx')) return 'onnx';
  if (f.endsWith('.json')) return 'tfjs';
  return null;
}

/** A problem the schema cannot express, with the card field it is about (for editor diagnostics). */
export interface CardProblem {
  message: string;
  path: (string | number)[];
}

/** Checks the schema cannot express: channel counts against classes, normalisation lengths. */
export function checkConsistency(c: ModelCard): CardProblem | null {
  const { input } = c;
  const at = (path: (string | number)[], message: string): CardProblem => ({ message, path });
  // segmenters: RGB or grey (fed the luma of the RGB image); denoisers work on the RGB image itself
  if (c.role === 'segmenter' && input.channels !== 3 && input.channels !== 1) return at(['input', 'channels'], `input.channels must be 3 (RGB) or 1 (grey), got ${input.channels}`);
  if (c.role === 'denoiser' && input.channels !== 3) return at(['input', 'channels'], `input.channels must be 3 (RGB) for a denoiser, got ${input.channels}`);
  if (input.range[0] === input.range[1]) return at(['input', 'range'], 'input.range must have two different ends');
  for (const k of ['mean', 'std'] as const) {
    const v = input[k];
    if (v && v.length !== 1 && v.length !== input.channels) return at(['input', k], `input.${k} must have 1 or ${input.channels} values, got ${v.length}`);
  }
  if (c.role === 'segmenter') {
    const out = c.output as SegmenterOutputSpec;
    const k = c.classes!.length;
    if (out.kind === 'sigmoid' && (out.channels !== 1 || k !== 2)) {
      return at(out.channels !== 1 ? ['output', 'channels'] : ['classes'], `output.kind sigmoid needs output.channels 1 and 2 classes (got ${out.channels} channels, ${k} classes)`);
    }
    if ((out.kind === 'logits' || out.kind === 'probabilities') && out.channels !== k) {
      return at(['output', 'channels'], `output.channels (${out.channels}) must equal the number of classes (${k}) for ${out.kind}`);
    }
    if (out.kind === 'labels' && out.channels !== 1) return at(['output', 'channels'], 'output.channels must be 1 for labels');
    if (c.denoiser) return at(['denoiser'], 'denoiser block is only allowed on denoiser cards');
  } else {
    const d = c.denoiser!;
    const want = d.learnedVariance ? 2 * input.channels : input.channels;
    if (c.output.channels !== want) return at(['output', 'channels'], `output.channels must be ${want} for this denoiser, got ${c.output.channels}`);
    if (c.classes) return at(['classes'], 'classes are only allowed on segmenter cards');
    if ('kind' in c.output) return at(['output', 'kind'], 'output.kind is only allowed on segmenter cards');
    if (d.kind === 'direct' && (d.schedule || d.timestep)) return at(['denoiser', d.schedule ? 'schedule' : 'timestep'], 'direct denoisers take no schedule or timestep');
    if (d.schedule?.type === 'alphasCumprod' && d.schedule.values.length !== d.T) {
      return at(['denoiser', 'schedule', 'values'], `denoiser.schedule.values has ${d.schedule.values.length} entries but T is ${d.T}`);
    }
  }
  return null;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function loadCard(cardPath: string, expectedRole?: 'segmenter' | 'denoiser'): Promise<ResolvedCard> {
  const abs = path.resolve(cardPath);
  const shown = displayPath(abs);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CertsegError(`model card not found: ${shown}`, 'model');
    throw new CertsegError(`${shown}: cannot read model card (${code ?? String(e)})`, 'model');
  }
  return loadCardText(text, abs, expectedRole);
}

/** A card from its text (e.g. an editor's unsaved buffer) at `cardPath`, which its relative paths follow. */
export async function loadCardText(text: string, cardPath: string, expectedRole?: 'segmenter' | 'denoiser'): Promise<ResolvedCard> {
  const abs = path.resolve(cardPath);
  const shown = displayPath(abs);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CertsegError(`${shown}: not valid JSON (${(e as Error).message})`, 'config');
  }
  if (!validate(json)) throw new CertsegError(`${shown}: ${describeSchemaError(validate.errors ?? [])}`, 'config');
  const card = json;
  const problem = checkConsistency(card);
  if (problem) throw new CertsegError(`${shown}: ${problem.message}`, 'config');
  if (expectedRole && card.role !== expectedRole) {
    throw new CertsegError(`${shown}: this is a ${card.role} card, expected a ${expectedRole}`, 'config');
  }

  const dir = path.dirname(abs);
  const primaryEngine = engineForFile(card.file);
  if (!primaryEngine) throw new CertsegError(`${shown}: file must be a .onnx file or a TF.js model .json (got ${card.file})`, 'config');
  const primary = path.resolve(dir, card.file);
  if (!existsSync(primary) || !statSync(primary).isFile()) {
    throw new CertsegError(`${shown}: model file not found: ${primary}`, 'model');
  }
  const files: ResolvedCard['files'] = { [primaryEngine]: primary };
  for (const [engine, rel] of Object.entries(card.alternates ?? {}) as ['onnx' | 'tfjs', string][]) {
    if (engineForFile(rel) !== engine) throw new CertsegError(`${shown}: alternates.${engine} must be a ${engine === 'onnx' ? '.onnx' : 'model .json'} file (got ${rel})`, 'config');
    if (engine === primaryEngine) continue;
    const p = path.resolve(dir, rel);
    // a missing alternate is not fatal (the primary runs); forcing that engine reports it (engines/load.ts)
    if (existsSync(p)) files[engine] = p;
  }
  return { ...card, cardPath: abs, files, sha256: await sha256File(primary) };
}
