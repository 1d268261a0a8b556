/**
 * CLI: node --import tsx tools/onnx2tfjs/main.ts IN.onnx OUT_DIR
 * Writes OUT_DIR/model.json (TF.js graph model) and OUT_DIR/weights.bin. IN may be '-' for stdin
 * (e.g. `git show HEAD:models/default/segmenter.onnx | node --import tsx tools/onnx2tfjs/main.ts - OUT`).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { convert, ConversionError } from './convert';
import { readOnnx } from './onnx';

export function convertFile(input: Uint8Array, outDir: string): ReturnType<typeof convert> {
  // the source's hash lets tests notice a stale export after the .onnx changes
  const onnxSha256 = createHash('sha256').update(input).digest('hex');
  const res = convert(readOnnx(input), { metadata: { onnxSha256 } });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'model.json'), JSON.stringify(res.modelJson) + '\n');
  writeFileSync(path.join(outDir, 'weights.bin'), res.weights);
  return res;
}

function main(argv: string[]): number {
  if (argv.length !== 2 || argv.includes('-h') || argv.includes('--help')) {
    process.stderr.write('usage: node --import tsx tools/onnx2tfjs/main.ts IN.onnx|- OUT_DIR\n');
    return 2;
  }
  const [inPath, outDir] = argv;
  let buf: Uint8Array;
  try {
    buf = readFileSync(inPath === '-' ? 0 : inPath);
  } catch (e) {
    process.stderr.write(`onnx2tfjs: cannot read ${inPath}: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    const res = convertFile(buf, outDir);
    const list = (o: Record<string, number>) =>
      Object.entries(o)
        .map(([k, v]) => `${k}×${v}`)
        .join(' ');
    process.stdout.write(`onnx2tfjs: ${inPath} → ${path.join(outDir, 'model.json')} (+ weights.bin, ${res.weights.byteLength} bytes)\n`);
    process.stdout.write(`  ONNX ops: ${list(res.ops)}\n  TF ops:   ${list(res.tfOps)}\n`);
    return 0;
  } catch (e) {
    const msg = e instanceof ConversionError ? e.message : String((e as Error).message ?? e);
    process.stderr.write(`onnx2tfjs: ${inPath}: ${msg}\n`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.dirname ?? '', 'main.ts')) {
  process.exitCode = main(process.argv.slice(2));
}
