/**
 * Starts the REAL worker (dist/server/server.js, built by `node esbuild.mjs`) as a child process over Node
 * IPC, exactly as the extension does (TransportKind.ipc), and speaks JSON-RPC to it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ProtocolConnection,
  IPCMessageReader,
  IPCMessageWriter,
  InitializeRequest,
  InitializedNotification,
  ShutdownRequest,
  LogMessageNotification,
  ExitNotification,
  createProtocolConnection,
  type InitializeResult,
  ResponseError,
} from 'vscode-languageserver-protocol/node';

export const ROOT = join(__dirname, '..', '..');
export const SERVER_JS = join(ROOT, 'dist', 'server', 'server.js');
export const SAMPLE = join(ROOT, 'models', 'default', 'sample.png');
export const SAMPLE_MASK = join(ROOT, 'models', 'default', 'sample-mask.png');
export const DENOISER_CARD = join(ROOT, 'models', 'default', 'denoiser.card.json');

/** Overrides every test run uses: none once the shipped denoiser exists (until then plain smoothing, said loudly). */
export function baseOverrides(): { denoiser?: null } {
  if (existsSync(DENOISER_CARD)) return {};
  console.log(`NOTE: ${DENOISER_CARD} does not exist yet: running without the denoiser`);
  return { denoiser: null };
}

export interface Worker {
  proc: ChildProcess;
  conn: ProtocolConnection;
  init: InitializeResult;
  stdout: string[];
  stderr: string[];
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** shutdown + exit; resolves with the exit code */
  stop(): Promise<number | null>;
}

export function assertBuilt(): void {
  if (!existsSync(SERVER_JS)) throw new Error(`${SERVER_JS} is missing: run \`node esbuild.mjs\` first`);
}

export async function startWorker(): Promise<Worker> {
  assertBuilt();
  const proc = fork(SERVER_JS, ['--node-ipc'], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: ROOT });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const logs: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => stdout.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const conn = createProtocolConnection(new IPCMessageReader(proc), new IPCMessageWriter(proc));
  conn.onNotification(LogMessageNotification.type, (p) => {
    logs.push(p.message);
  });
  conn.onError(() => undefined);
  conn.listen();
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: { window: { workDoneProgress: true } },
  });
  await conn.sendNotification(InitializedNotification.type, {});
  return {
    proc,
    conn,
    init,
    stdout,
    stderr,
    logs,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          await conn.sendRequest(ShutdownRequest.type);
          await conn.sendNotification(ExitNotification.type);
        } catch {
          /* already gone */
        }
      }
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const { code } = await exited;
      clearTimeout(timer);
      try {
        conn.dispose();
      } catch {
        /* pending requests rejected */
      }
      return code;
    },
  };
}

/** The request fails with a JSON-RPC error of this code whose message matches. */
export async function expectError(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ResponseError, `expected a ResponseError, got ${String(e)}`);
    assert.equal(e.code, code, `code ${e.code}: ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
}

/** The worker's first log line matching `re`, waited for up to `ms` (undefined if none came). */
export async function logLine(w: Worker, re: RegExp, ms: number): Promise<string | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const line = w.logs.find((l) => re.test(l));
    if (line || Date.now() > end) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
}
