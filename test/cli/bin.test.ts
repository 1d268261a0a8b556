/**
 * The `certseg` command as users get it, not dist/server/cli.js called directly (which hid a launcher that
 * did nothing): `npx certseg` in the repository, the bin of a package installed from `npm pack` into a
 * fresh prefix, and the launcher's message when the bundle has not been built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const sample = path.join(root, 'models/default/sample.png');
const sampleMask = path.join(root, 'models/default/sample-mask.png');
const quick = ['--n0', '4', '--n', '60', '--alpha', '0.01', '--no-denoiser'];
const env = { ...process.env, CI: '1', npm_config_update_notifier: 'false', ONNXRUNTIME_NODE_INSTALL: 'skip' };

function run(cmd: string, args: string[], cwd: string, timeout = 120_000) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test('npx certseg runs the CLI from the repository', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-npx-'));
  const help = run('npx', ['certseg', '--help'], root);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: certseg COMMAND/);
  assert.match(help.stdout, /certify {6}certify one image/);
  const out = path.join(tmp, 'out');
  const r = run('npx', ['certseg', 'certify', sample, '--mask', sampleMask, '--out', out, ...quick], root);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sample\.png: radius 0\.\d+, certified/);
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(report.params.n, 60);
  rmSync(tmp, { recursive: true, force: true });
});

test('the installed bin (npm pack, npm install -g into a fresh prefix) certifies an image', { timeout: 10 * 60_000 }, (t) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-pack-'));
  try {
    const pack = run('npm', ['pack', '--pack-destination', tmp, '--json'], root, 300_000);
    assert.equal(pack.code, 0, pack.stderr);
    const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0] as {
      filename: string;
      files: { path: string }[];
      size: number;
    };
    const files = info.files.map((f) => f.path);
    t.diagnostic(`npm pack: ${files.length} files, ${(info.size / 2 ** 20).toFixed(1)} MiB`);
    for (const f of ['bin/certseg.js', 'dist/server/cli.js', 'server/schemas/config.schema.json', 'models/default/segmenter.onnx'])
      assert.ok(files.includes(f), `${f} is not in the package`);
    assert.ok(
      !files.some((f) => f.startsWith('test/') || f.startsWith('client/') || f.endsWith('.map')),
      'tests, client or source maps are packed',
    );

    const prefix = path.join(tmp, 'prefix');
    const started = Date.now();
    const inst = run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp, info.filename)],
      tmp,
      600_000,
    );
    assert.equal(inst.code, 0, inst.stderr);
    t.diagnostic(`npm install -g: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const bin = path.join(prefix, 'bin', 'certseg');
    assert.ok(existsSync(bin), 'npm install -g did not link bin/certseg');

    const cwd = path.join(tmp, 'elsewhere');
    mkdirSync(cwd);
    const version = run(bin, ['--version'], cwd);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version);
    const r = run(bin, ['certify', sample, '--mask', sampleMask, '--out', 'result', ...quick], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /results in result/);
    assert.deepEqual(
      readdirSync(path.join(cwd, 'result')).filter((f) => f === 'report.json'),
      ['report.json'],
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the launcher says in one line that the CLI is not built, instead of a stack trace', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-nobuild-'));
  mkdirSync(path.join(tmp, 'bin'));
  copyFileSync(path.join(root, 'bin/certseg.js'), path.join(tmp, 'bin/certseg.js'));
  const r = run(process.execPath, [path.join(tmp, 'bin/certseg.js'), '--help'], tmp);
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim(), /^certseg: not built yet \(.*dist\/server\/cli\.js is missing\); run `npm run build` in /);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  rmSync(tmp, { recursive: true, force: true });
});
