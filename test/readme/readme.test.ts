/**
 * Every shell command the README shows, run exactly as written, the way a new user runs them: in a fresh
 * clone of this repository (committed HEAD) with ../shared beside it. The block marked
 * `<!-- readme-test: fresh-clone -->` (the quick start: `npm ci && npm run demo`) runs first and sets the
 * clone up; the other blocks then run line by line in it. `<!-- readme-test: skip (why) -->` skips a block.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const shared = path.resolve(root, '..', 'shared');

interface Block {
  line: number;
  directive: string | null;
  commands: string[];
}

/** The ```sh blocks of a Markdown text, each with the readme-test directive right above it, if any. */
export function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```sh') continue;
    let j = i - 1;
    while (j >= 0 && lines[j].trim() === '') j--;
    const m = j >= 0 ? /^<!--\s*readme-test:\s*(.*?)\s*-->$/.exec(lines[j].trim()) : null;
    const commands: string[] = [];
    let k = i + 1;
    for (; k < lines.length && lines[k].trim() !== '```'; k++)
      if (lines[k].trim() && !lines[k].trim().startsWith('#')) commands.push(lines[k].trim());
    blocks.push({ line: i + 1, directive: m ? m[1] : null, commands });
    i = k;
  }
  return blocks;
}

/** What a successful command must have written: the --out folder's report or summary, or the demo's. */
function expectedOutput(command: string): string | null {
  if (/npm run demo\b/.test(command)) return 'demo-out/report.json';
  const out = /--out\s+(\S+)/.exec(command)?.[1];
  if (!out) return null;
  if (/\bcertseg (dataset|consistency)\b/.test(command)) return path.join(out, 'summary.json');
  return path.join(out, 'report.json');
}

const blocks = shellBlocks(readFileSync(path.join(root, 'README.md'), 'utf8'));

test('the README has the quick start and runnable command-line examples', () => {
  assert.ok(
    blocks.some((b) => b.directive === 'fresh-clone' && b.commands.join(' ').includes('npm run demo')),
    'quick start block',
  );
  assert.ok(
    blocks.some((b) => b.commands.some((c) => c.startsWith('npx certseg certify '))),
    'a certify example',
  );
  for (const b of blocks)
    for (const c of b.commands)
      assert.ok(
        !/\b[A-Z]{3,}\b(?![a-z])/.test(c.replace(/--[\w-]+/g, '')) || c === 'npm test',
        `placeholder in README line ${b.line}: ${c}`,
      );
});

test('every README command runs as written in a fresh clone', { timeout: 30 * 60_000 }, (t) => {
  const head = spawnSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  if (head.status !== 0) return t.skip('not a git checkout: cannot make a fresh clone');
  const work = mkdtempSync(path.join(os.tmpdir(), 'certseg-readme-'));
  const clone = path.join(work, 'certseg');
  try {
    // the commit under test (in a worktree, a plain clone would check out the main repository's HEAD)
    const c = spawnSync('git', ['clone', '--quiet', '--no-checkout', root, clone], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    const co = spawnSync('git', ['-C', clone, 'checkout', '--quiet', head.stdout.trim()], { encoding: 'utf8' });
    assert.equal(co.status, 0, co.stderr);
    if (existsSync(shared)) symlinkSync(shared, path.join(work, 'shared'));
    const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', npm_config_update_notifier: 'false' };
    delete env.CERTSEG_E2E_VSIX;
    const ordered = [...blocks.filter((b) => b.directive === 'fresh-clone'), ...blocks.filter((b) => b.directive !== 'fresh-clone')];
    for (const b of ordered) {
      if (b.directive?.startsWith('skip')) continue;
      for (const command of b.directive === 'fresh-clone' ? [b.commands.join(' && ')] : b.commands) {
        if (command.includes('../shared') && !existsSync(shared)) {
          t.diagnostic(`skipped (../shared is absent): ${command}`);
          continue;
        }
        const started = Date.now();
        const r = spawnSync('bash', ['-c', command], { cwd: clone, env, encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 64 << 20 });
        t.diagnostic(`README line ${b.line}: ${command} -> exit ${r.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.equal(r.status, 0, `README line ${b.line}: \`${command}\` failed (exit ${r.status}):\n${(r.stderr ?? '').slice(-3000)}`);
        assert.ok(!/internal error|\n\s+at /.test(r.stderr ?? ''), `\`${command}\` printed an internal error:\n${r.stderr}`);
        const out = expectedOutput(command);
        if (out) assert.ok(existsSync(path.join(clone, out)), `\`${command}\` did not write ${out}`);
        if (command.endsWith('certseg engines')) assert.match(r.stdout, /onnx/i);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
