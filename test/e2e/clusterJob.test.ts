/**
 * End-to-end: "certseg: Write Cluster Job…" from the command palette of a real VS Code (code-server,
 * headless Chromium: harness.ts). The dataset is picked from the workspace's datasets, then Slurm, 3 shards,
 * 0 GPUs: the bundled CLI writes the array and merge scripts into certseg-jobs/, with the dataset's run
 * folder (.certseg/datasets/…) as the output, and the scripts open in the editor.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, skip, startVSCode, until, type VSCode } from './harness';

let vs: VSCode;

before(async () => {
  if (skip) return;
  vs = await startVSCode(
    (ws) => {
      for (const sub of ['images', 'masks']) mkdirSync(join(ws, 'polyps', sub), { recursive: true });
      copyFileSync(join(ROOT, 'models/default/sample.png'), join(ws, 'polyps', 'images', 'a.png'));
      copyFileSync(join(ROOT, 'models/default/sample-mask.png'), join(ws, 'polyps', 'masks', 'a.png'));
    },
    { 'security.workspace.trust.enabled': false },
  );
});

after(async () => {
  await vs?.close();
});

test(
  'Write Cluster Job… (Slurm, 3 shards, CPU): the scripts are written for the picked dataset and open',
  { skip, timeout: 300_000 },
  async () => {
    const { page } = vs;
    const widget = (title: string) => page.locator('.quick-input-widget', { hasText: title });
    const answer = async (title: string, value: string) => {
      await widget(title).waitFor({ state: 'visible', timeout: 30_000 });
      await page.locator('.quick-input-widget input').fill(value);
      await page.keyboard.press('Enter');
    };
    await vs.runCommand('certseg: Write Cluster Job');
    await widget('dataset for the cluster job').waitFor({ state: 'visible', timeout: 60_000 });
    await page.locator('.quick-input-list .monaco-list-row[aria-label*="polyps"]').first().click({ timeout: 30_000 });
    await widget('cluster job for polyps').waitFor({ state: 'visible', timeout: 30_000 });
    await page.locator('.quick-input-list .monaco-list-row[aria-label*="Slurm"]').first().click({ timeout: 30_000 });
    await answer('number of shards', '3');
    await answer('GPUs per shard', '0');

    const script = join(vs.workspace, 'certseg-jobs', 'certseg-polyps.sbatch');
    const mergeScript = join(vs.workspace, 'certseg-jobs', 'certseg-polyps-merge.sbatch');
    // each script is written atomically (complete or absent), one after the other: wait for both
    await until('the two scripts', async () => existsSync(script) && existsSync(mergeScript), 60_000).catch(async (e) => {
      mkdirSync(join(ROOT, 'dist', 'test-out'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'dist', 'test-out', 'cluster-job.png') });
      throw e;
    });
    const text = readFileSync(script, 'utf8');
    assert.match(text, /#SBATCH --array=0-2\n/);
    assert.ok(!text.includes('--gpus-per-task'), 'no GPU asked for');
    const out = join(vs.workspace, '.certseg', 'datasets', 'polyps', 'default');
    assert.ok(text.includes(`$CERTSEG dataset ${join(vs.workspace, 'polyps')} --out ${out} --shards 3 --resume\n`), text);
    assert.match(readFileSync(mergeScript, 'utf8'), /\$CERTSEG merge /);
    // both open in the editor, and the message offers to submit
    await until(
      'the scripts in editor tabs',
      async () =>
        (await page.locator('.tab', { hasText: 'certseg-polyps.sbatch' }).count()) > 0 &&
        (await page.locator('.tab', { hasText: 'certseg-polyps-merge.sbatch' }).count()) > 0,
      30_000,
    );
    await until(
      'the message',
      async () =>
        /wrote the Slurm job for polyps/.test(
          await page
            .locator('.notifications-toasts')
            .innerText()
            .catch(() => ''),
        ),
      30_000,
    );
  },
);
