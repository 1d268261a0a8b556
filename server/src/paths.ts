/**
 * Where the package's own files (schemas, shipped models) live. Source files run from server/src/*
 * (tests, tsx) and bundles from dist/server/*: walk up to the folder holding package.json.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;
export function repoRoot(): string {
  if (root) return root;
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'server'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`certseg: cannot find the package root above ${__dirname}`);
    dir = up;
  }
  return (root = dir);
}

/** A file of the package (repository or installed extension), by its path relative to the package root. */
export function packagePath(rel: string): string {
  return path.join(repoRoot(), rel);
}
