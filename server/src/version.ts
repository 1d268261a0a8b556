import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './paths';

let version: string | undefined;
export function packageVersion(): string {
  return (version ??= JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')).version as string);
}
