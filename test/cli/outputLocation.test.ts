/**
 * Output locations that cannot take a result fail at once, with one line, before any model is loaded, and
 * write nothing: a folder under /proc (which used to hang after the whole run), a path under a file, a
 * folder that holds the user's own files (`--out .` used to be replaced as a whole), for every command that
 * writes (certify, dataset, recertify, consistency). A config that is a folder is a one-line error too.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const bin = path.join(root, 'bin/certseg.js');
const sample = path.join(root, 'models/default/sample.png');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'certseg-out-'));
const quick = ['--n0', '4', '--n', '60', '--alpha', '0.01', '--no-denoiser'];
let result = '';

function certseg(args: string[], cwd = tmp) {
  const started = Date.now();
  // a bounded wait: the /proc case used to hang
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CI: '1' } });
  return { code: r.status, stderr: r.stderr ?? '', stdout: r.stdout ?? '', seconds: (Date.now() - started) / 1000 };
}

function assertRefused(t: { diagnostic: (s: string) => void }, args: string[], pattern: RegExp, cwd = tmp) {
  const r = certseg(args, cwd);
  t.diagnostic(`${args.slice(0, 1).join(' ')} … ${args.at(-1)}: exit ${r.code} after ${r.seconds.toFixed(2)} s`);
  assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, no progress (nothing ran): ${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.match(lines[0], /nothing was written$/);
}

before(() => {
  assert.ok(existsSync(path.join(root, 'dist/server/cli.js')), 'run `npm run build` first (npm test does)');
  result = path.join(tmp, 'result');
  const r = certseg(['certify', sample, '--out', result, ...quick]);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(path.join(tmp, 'afile'), 'not a folder');
});

test("certify: unwritable, under a file, a file, and a folder of the user's files are refused before the run", (t) => {
  assertRefused(
    t,
    ['certify', sample, '--out', '/proc/certseg-out'],
    /^certseg: cannot write results to \/proc\/certseg-out: \/proc is not writable/,
  );
  assertRefused(t, ['certify', sample, '--out', path.join(tmp, 'afile', 'sub')], /afile is a file, not a folder/);
  assertRefused(t, ['certify', sample, '--out', path.join(tmp, 'afile')], /: it is a file, not a folder/);
  const mine = path.join(tmp, 'mine');
  mkdirSync(mine);
  writeFileSync(path.join(mine, 'thesis.tex'), 'precious');
  assertRefused(
    t,
    ['certify', sample, '--out', '.'],
    /cannot write results to \.: the folder is not empty and is not a certseg image result \(it holds thesis\.tex\)/,
    mine,
  );
  assert.deepEqual(readdirSync(mine), ['thesis.tex'], "the user's folder is untouched");
});

test('certify into an existing result or an empty folder works', () => {
  const again = certseg(['certify', sample, '--out', result, ...quick]);
  assert.equal(again.code, 0, again.stderr);
  const empty = path.join(tmp, 'empty');
  mkdirSync(empty);
  const r = certseg(['certify', sample, '--out', empty, ...quick]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(path.join(empty, 'report.json')));
});

test('dataset, recertify and consistency check their output the same way', (t) => {
  const ds = path.join(root, '..', 'shared', 'datasets', 'ph2-256');
  if (existsSync(ds))
    assertRefused(t, ['dataset', ds, '--out', '/proc/x', '--limit', '1'], /cannot write results to \/proc\/x: \/proc is not writable/);
  else t.diagnostic('../shared is absent: the dataset case is not checked');
  assertRefused(t, ['dataset', path.join(tmp, 'result'), '--out', path.join(tmp, 'afile', 'd')], /afile is a file, not a folder/);
  assertRefused(t, ['recertify', result, '--tau', '0.6', '--out', '/proc/y'], /cannot write results to \/proc\/y/);
  assertRefused(t, ['recertify', result, '--tau', '0.6', '--out', path.join(tmp, 'afile')], /it is a file, not a folder/);
  assertRefused(t, ['consistency', sample, '--out', path.join(tmp, 'afile')], /it is a file, not a folder/);
  assertRefused(t, ['consistency', sample, '--out', root], /not a certseg consistency result/);
});

test('a config that is a folder, and a fractional sample count, get one clear line', () => {
  const r = certseg(['certify', sample, '--config', tmp]);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^certseg: config .* is a folder, not a file/);
  const c = path.join(tmp, 'frac.certseg.json');
  writeFileSync(c, '{ "n": 100.5 }');
  const f = certseg(['certify', sample, '--config', c]);
  assert.equal(f.code, 2);
  assert.match(f.stderr.trim().split('\n').at(-1)!, /n must be integer/);
  const g = certseg(['certify', sample, '--n', '100.5']);
  assert.match(g.stderr.trim().split('\n').at(-1)!, /n must be integer/);
});

test('each command lists its own options, and refuses options it does not take', () => {
  const expected: Record<string, RegExp[]> = {
    certify: [/--mask M/, /--slice AXIS:INDEX/, /--n N/, /--out DIR/],
    dataset: [/--limit N/, /--resume/, /--split NAME/],
    recertify: [/--tau T/, /--correction/],
    consistency: [/--rics M/, /--circular/],
    engines: [/--help/],
  };
  for (const [command, patterns] of Object.entries(expected)) {
    const r = certseg([command, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^usage: certseg ${command}\\b`));
    for (const p of patterns) assert.match(r.stdout, p, `${command} --help`);
  }
  assert.doesNotMatch(certseg(['recertify', '--help']).stdout, /--mask|--sigma/);
  const r = certseg(['engines', '--rics', '3']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), 'certseg: engines does not take --rics (certseg engines --help lists its options)');
  const c = certseg(['certify', sample, '--resume']);
  assert.match(c.stderr.trim(), /^certseg: certify does not take --resume/);
});
