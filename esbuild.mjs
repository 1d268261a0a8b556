// Three kinds of bundle: the extension client (vscode is provided by the host), the worker side
// (language server, run process, CLI; native modules stay external and ship in node_modules),
// and the webview scripts (browser).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };
const nativeExternal = ['onnxruntime-node', 'sharp', '@tensorflow/*', '@itk-wasm/*'];

const builds = [
  {
    ...common,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    entryPoints: { 'client/extension': 'client/src/extension.ts' },
    outdir: 'dist',
  },
  {
    ...common,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // tsx: only named by core/noiseThread.ts when it runs from the sources, never bundled
    external: [...nativeExternal, 'tsx'],
    entryPoints: {
      'server/cli': 'server/src/cli/main.ts',
      'server/server': 'server/src/worker/server.ts',
      'server/runChild': 'server/src/worker/runChild.ts',
      // the noise thread's entry (core/noiseThread.ts looks for it beside the bundle)
      'server/noiseWorker': 'server/src/core/noiseWorker.ts',
    },
    outdir: 'dist',
  },
  {
    ...common,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    entryPoints: { 'webview/preview': 'media/src/preview/main.ts', 'webview/report': 'media/src/report.ts' },
    outdir: 'dist',
  },
];

for (const b of builds) {
  b.entryPoints = Object.fromEntries(Object.entries(b.entryPoints).filter(([, f]) => existsSync(f)));
  if (Object.keys(b.entryPoints).length === 0) continue;
  if (watch) await (await esbuild.context(b)).watch();
  else await esbuild.build(b);
}
