/**
 * The Slurm path end to end, on a real single-node Slurm cluster (Debian's slurmctld, slurmd and munge,
 * started here as in ../shared/notes/environment.md): `certseg cluster slurm … --submit` submits the
 * generated array script (3 shards over 6 real Kvasir-SEG images, plain smoothing, small n) and the
 * dependent merge job; the merged summary.json must equal a one-process `certseg dataset` run in every
 * field except timings (which hold the host names).
 *
 * Skips, with the reason, when the Slurm/munge packages are absent, when not root (the daemons run as
 * root here), when ../shared is absent, or when the cluster does not come up. Every wait is bounded;
 * the daemons this test started are stopped by PID afterwards. Build first: `npm run build`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { validateSummary } from '../../client/src/validate/stored';
import { SKIP_NO_KVASIR, SMALL, certseg, cli, makeDataset, readSummary, withoutTimings } from './helpers';

const BINARIES = [
  '/usr/sbin/slurmctld',
  '/usr/sbin/slurmd',
  '/usr/sbin/munged',
  '/usr/bin/sbatch',
  '/usr/bin/squeue',
  '/usr/bin/sinfo',
  '/usr/bin/munge',
];
const missing = BINARIES.filter((b) => !existsSync(b));
const SKIP: string | false =
  SKIP_NO_KVASIR ||
  (missing.length
    ? `Slurm is not installed (${missing.join(', ')} missing; apt-get install slurmctld slurmd slurm-client munge)`
    : false) ||
  (process.getuid?.() !== 0 ? 'the single-node Slurm cluster runs its daemons as root; run as root' : false);

const tmp = mkdtempSync(path.join(tmpdir(), 'certseg-slurm-'));
const conf = path.join(tmp, 'slurm.conf');
const env = { ...process.env, SLURM_CONF: conf };
/** PIDs of the daemons this test started (and only those are stopped). */
const started: { name: string; pid: number }[] = [];
/** Why the cluster did not come up (the test then skips with it). */
let noCluster: string | null = null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sh = (cmd: string, args: string[], timeoutMs = 15_000) => spawnSync(cmd, args, { env, encoding: 'utf8', timeout: timeoutMs });
const tail = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ') : '(no log)');
const pidIn = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || null : null);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls `check` until it returns a value, at most `ms`; null on time-out. */
async function until<T>(ms: number, check: () => T | null | undefined): Promise<T | null> {
  const end = Date.now() + ms;
  for (;;) {
    const x = check();
    if (x !== null && x !== undefined) return x;
    if (Date.now() > end) return null;
    await sleep(500);
  }
}

/** munged, slurmctld and slurmd with a config in a scratch folder; null, or why it failed. */
async function startCluster(): Promise<string | null> {
  // munge: reuse a running munged (someone else's: not stopped by us), else start one as the munge user.
  if (sh('/bin/sh', ['-c', 'munge -n | unmunge']).status !== 0) {
    if (!existsSync('/etc/munge/munge.key')) return 'munge has no key (/etc/munge/munge.key; create one with mungekey -c)';
    mkdirSync('/run/munge', { recursive: true });
    sh('chown', ['munge:munge', '/run/munge']);
    const m = sh('su', ['-s', '/bin/sh', 'munge', '-c', '/usr/sbin/munged']);
    if (m.status !== 0) return `munged did not start: ${(m.stderr || m.stdout).trim().split('\n')[0]}`;
    const pid = await until(5000, () => pidIn('/run/munge/munged.pid'));
    if (pid) started.push({ name: 'munged', pid });
    if ((await until(5000, () => (sh('/bin/sh', ['-c', 'munge -n | unmunge']).status === 0 ? true : null))) === null)
      return 'munge does not answer (munge -n | unmunge fails)';
  }
  const host = hostname().split('.')[0];
  const cpus = Number(sh('nproc', []).stdout.trim()) || 1;
  // Ports from the PID: two runs on one machine (other checkouts) do not collide.
  const port = 20000 + (process.pid % 10000) * 2;
  for (const d of ['state', 'spool']) mkdirSync(path.join(tmp, d));
  writeFileSync(
    conf,
    [
      'ClusterName=certsegtest',
      `SlurmctldHost=${host}`,
      'AuthType=auth/munge',
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${tmp}/state`,
      `SlurmdSpoolDir=${tmp}/spool`,
      `SlurmctldPidFile=${tmp}/slurmctld.pid`,
      `SlurmdPidFile=${tmp}/slurmd.pid`,
      `SlurmctldLogFile=${tmp}/ctld.log`,
      `SlurmdLogFile=${tmp}/d.log`,
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobCompType=jobcomp/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      // memory is not scheduled (CR_Core); a low figure keeps the node from being drained as "low memory"
      `NodeName=${host} CPUs=${cpus} RealMemory=1000 State=UNKNOWN`,
      `PartitionName=main Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  for (const [name, bin] of [
    ['slurmctld', '/usr/sbin/slurmctld'],
    ['slurmd', '/usr/sbin/slurmd'],
  ] as const) {
    const r = sh(bin, ['-f', conf]); // both daemonize
    if (r.status !== 0) return `${name} did not start: ${(r.stderr || r.stdout).trim().split('\n')[0] || `exit ${r.status}`}`;
    const pid = await until(10_000, () => pidIn(path.join(tmp, `${name}.pid`)));
    if (!pid) return `${name} wrote no PID file (log: ${tail(path.join(tmp, name === 'slurmctld' ? 'ctld.log' : 'd.log'))})`;
    started.push({ name, pid });
  }
  const idle = await until(30_000, () => (/idle/.test(sh('sinfo', ['-h', '-o', '%T']).stdout) ? true : null));
  if (!idle)
    return `the node did not become idle within 30 s (sinfo: ${sh('sinfo', ['-h']).stdout.trim()}; slurmd log: ${tail(path.join(tmp, 'd.log'))})`;
  return null;
}

async function stopCluster(): Promise<void> {
  sh('scancel', ['--user=root']); // jobs of this cluster only (this SLURM_CONF), e.g. after a time-out
  for (const { pid } of started.reverse()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      continue;
    }
    if ((await until(10_000, () => (alive(pid) ? null : true))) === null) process.kill(pid, 'SIGKILL');
  }
}

before(async () => {
  if (SKIP) return;
  assert.ok(existsSync(cli), 'run `npm run build` first');
  noCluster = await startCluster();
});
after(async () => {
  if (!SKIP) await stopCluster();
  rmSync(tmp, { recursive: true, force: true });
});

test(
  'Slurm: the generated array script (3 shards, 6 images) and its dependent merge equal a one-process run',
  { skip: SKIP, timeout: 240_000 },
  async (t) => {
    if (noCluster) return t.skip(`Slurm could not start: ${noCluster}`);
    const ds = path.join(tmp, 'ds');
    const ids = makeDataset(ds, 6);
    const out = path.join(tmp, 'out');
    const jobDir = path.join(tmp, 'jobs');

    const w = await certseg(
      [
        'cluster',
        'slurm',
        ds,
        '--shards',
        '3',
        '--gpus-per-task',
        '0',
        '--time',
        '00:10:00',
        '--out',
        out,
        '--job-dir',
        jobDir,
        '--submit',
        ...SMALL,
      ],
      { SLURM_CONF: conf },
    );
    assert.equal(w.code, 0, w.stderr);
    const sub = /submitted: shards as job array (\d+), merge as job (\d+)/.exec(w.stdout);
    assert.ok(sub, w.stdout);
    const [arrayId, mergeId] = [sub[1], sub[2]];

    // The merge job waits for the whole array (afterok), then leaves the queue: bounded wait.
    const queued = (id: string) => sh('squeue', ['-h', '-j', id, '-o', '%T']).stdout.trim();
    const gone = await until(180_000, () => (queued(arrayId) === '' && queued(mergeId) === '' ? true : null));
    const logs = () =>
      existsSync(path.join(jobDir, 'logs'))
        ? readdirSync(path.join(jobDir, 'logs'))
            .map((f) => `${f}: ${tail(path.join(jobDir, 'logs', f))}`)
            .join('\n')
        : '(no logs)';
    assert.ok(gone, `the jobs did not finish within 180 s (array: ${queued(arrayId)}, merge: ${queued(mergeId)})\n${logs()}`);
    assert.ok(existsSync(path.join(out, 'summary.json')), `the merge job wrote no summary.json\n${logs()}`);

    // Each array task took its shard from Slurm's environment (no --shard on the command line).
    const taskLogs = readdirSync(path.join(jobDir, 'logs'))
      .filter((f) => f.startsWith(`certseg-ds-${arrayId}_`))
      .sort();
    assert.equal(taskLogs.length, 3, taskLogs.join());
    taskLogs.forEach((f, k) =>
      assert.match(
        readFileSync(path.join(jobDir, 'logs', f), 'utf8'),
        new RegExp(`certifying shard ${k}/3 \\(from the Slurm job array\\)`),
      ),
    );

    const one = path.join(tmp, 'one');
    const r = await certseg(['dataset', ds, '--out', one, ...SMALL]);
    assert.equal(r.code, 0, r.stderr);
    const merged = readSummary(path.join(out, 'summary.json'));
    assert.deepEqual(
      merged.perImage.map((p) => p.id),
      ids,
    );
    assert.equal(merged.partial, undefined);
    assert.deepEqual(withoutTimings(merged), withoutTimings(readSummary(path.join(one, 'summary.json'))));
    assert.equal(merged.timings.shards?.length, 3, 'the merged timings list the three shards');
    // the Datasets view reads it like any run (the extension's stored-result validation)
    const file = path.join(out, 'summary.json');
    assert.equal(validateSummary(readFileSync(file, 'utf8'), file).images, 6);
  },
);
