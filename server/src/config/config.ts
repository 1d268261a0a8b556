/**
 * Loading, validating and defaulting certification configs. One schema (server/schemas/config.schema.json)
 * serves the CLI, the worker and the editor's completion; unknown keys are errors everywhere.
 */
import Ajv, { type ErrorObject } from 'ajv';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { CertsegError } from '../core/errors';
import { repoRoot } from '../paths';
import type { ResolvedConfig } from './types';
import type { CertsegConfig } from '../../../protocol/config';

export const CONFIG_SCHEMA_PATH = path.join(repoRoot(), 'server', 'schemas', 'config.schema.json');

/** The MICCAI 2023 settings (n0 = 10, n = 100, τ = 0.75, α = 0.001, Holm) at σ = 0.25. */
export const DEFAULTS = {
  engine: 'auto',
  sigma: 0.25,
  n0: 10,
  n: 100,
  tau: 0.75,
  alpha: 0.001,
  correction: 'holm',
  denoiseConvention: 'carlini',
  batchSize: 8,
  memoryBudgetMiB: null,
  seed: 0,
  radiusMap: true,
  cropSelection: null,
  sampling: 'auto',
} as const;

export function defaultModelPaths(): { segmenter: string; denoiser: string } {
  const dir = path.join(repoRoot(), 'models', 'default');
  return { segmenter: path.join(dir, 'segmenter.card.json'), denoiser: path.join(dir, 'denoiser.card.json') };
}

let validator: (((data: unknown) => boolean) & { errors?: ErrorObject[] | null }) | undefined;
function validate(data: unknown): ErrorObject[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validator = ajv.compile(JSON.parse(readFileSync(CONFIG_SCHEMA_PATH, 'utf8')));
  }
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** One readable sentence per schema error, e.g. `"sigmaa" is not a config key`. */
export function describeSchemaError(e: ErrorObject): string {
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'config';
  switch (e.keyword) {
    case 'additionalProperties':
      return `"${(e.params as { additionalProperty: string }).additionalProperty}" is not a config key`;
    case 'enum':
      return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `${where} must be ${(e.params as { type: string | string[] }).type.toString().replace(',', ' or ')}`;
    default:
      return `${where} ${e.message ?? 'is invalid'}`;
  }
}

/** Schema errors with their JSON path, for editor diagnostics. */
export function schemaProblems(data: unknown): { message: string; path: (string | number)[] }[] {
  return validate(data).map((e) => {
    const p = e.instancePath.split('/').slice(1);
    if (e.keyword === 'additionalProperties') p.push((e.params as { additionalProperty: string }).additionalProperty);
    return { message: describeSchemaError(e), path: p.map((s) => (/^\d+$/.test(s) ? Number(s) : s)) };
  });
}

/** Validate a parsed config and fill in defaults; relative paths resolve against `baseDir`. */
export function resolveConfig(raw: unknown, configPath: string | null, overrides: Partial<CertsegConfig> = {}): ResolvedConfig {
  const merged = { ...(raw as object), ...stripUndefined(overrides) };
  const problems = validate(merged);
  const label = configPath ? path.basename(configPath) : 'config';
  // every problem at once, so that fixing one does not reveal the next
  if (problems.length > 0) throw new CertsegError(`${label}: ${problems.map(describeSchemaError).join('; ')}`, 'config');
  const { $schema: _schema, segmenter, denoiser, ...settings } = merged as CertsegConfig;
  const baseDir = configPath ? path.dirname(path.resolve(configPath)) : process.cwd();
  const defaults = defaultModelPaths();
  const abs = (p: string) => path.resolve(baseDir, p);
  return {
    ...DEFAULTS,
    ...settings,
    configPath: configPath ? path.resolve(configPath) : null,
    segmenter: segmenter ? abs(segmenter) : defaults.segmenter,
    denoiser: denoiser === null ? null : denoiser ? abs(denoiser) : defaults.denoiser,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function parseConfigText(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CertsegError(`${label} is not valid JSON: ${(e as Error).message}`, 'config');
  }
}

/** Load a config file (null = shipped defaults), apply CLI overrides, validate. */
export async function loadConfig(configPath: string | null, overrides: Partial<CertsegConfig> = {}): Promise<ResolvedConfig> {
  if (configPath === null) return resolveConfig({}, null, overrides);
  if (!existsSync(configPath)) throw new CertsegError(`config file not found: ${configPath}`, 'config');
  if (!statSync(configPath).isFile())
    throw new CertsegError(`config ${configPath} is a folder, not a file (give the *.certseg.json file)`, 'config');
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (e) {
    throw new CertsegError(`cannot read config ${configPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'config');
  }
  return resolveConfig(parseConfigText(text, path.basename(configPath)), configPath, overrides);
}
