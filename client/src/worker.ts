/**
 * The worker's lifecycle on the client side: start (TransportKind.ipc), restart on crashes with a
 * user-visible message, stop; the status-bar item (engine/device, running/queued runs, stopped state).
 */
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { EngineInfoRequest, type EngineInfoResult, QueueStatusNotification, type QueueStatusParams } from '../../server/src/protocol';

const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60_000;

export class Worker implements vscode.Disposable {
  client: LanguageClient | undefined;
  readonly log: vscode.LogOutputChannel;
  private readonly status: vscode.StatusBarItem;
  private engine: EngineInfoResult | null = null;
  private queue: QueueStatusParams = { running: null, queued: [] };
  private crashes: number[] = [];
  private stoppedForGood = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('certseg', { log: true });
    this.status = vscode.window.createStatusBarItem('certseg.status', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'certseg';
    this.status.command = 'certseg.showStatusMenu';
    this.render();
    this.status.show();
  }

  async start(): Promise<LanguageClient> {
    if (this.client && this.client.state !== State.Stopped) return this.client;
    const module = this.context.asAbsolutePath('dist/server/server.js');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
    };
    const clientOptions: LanguageClientOptions = {
      // Config diagnostics load the model cards a config names, and card diagnostics run the card's model
      // (`certseg card check`): only in a trusted workspace (Restricted Mode loads nothing a workspace file
      // points to). Granting trust restarts the worker with them.
      documentSelector: vscode.workspace.isTrusted
        ? ['**/*.certseg.json', '**/*.card.json'].flatMap((pattern) => [{ scheme: 'file', language: 'json', pattern }, { scheme: 'file', pattern }])
        : [],
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      connectionOptions: { maxRestartCount: MAX_RESTARTS },
      errorHandler: {
        error: (_error, _message, count) => ({ action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
        closed: () => {
          const now = Date.now();
          this.crashes = [...this.crashes.filter((t) => now - t < RESTART_WINDOW_MS), now];
          this.engine = null;
          // a run in progress is lost: whoever started it says so, with a Retry (one message, not two)
          const lostRun = this.queue.running;
          this.queue = { running: null, queued: [] };
          if (this.crashes.length <= MAX_RESTARTS) {
            this.log.warn(`certseg worker stopped unexpectedly; restarting (${this.crashes.length}/${MAX_RESTARTS} in 3 minutes)${lostRun ? `; the run of ${lostRun.label} was lost` : ''}`);
            if (!lostRun) {
              void vscode.window.showWarningMessage('certseg: the worker stopped unexpectedly and was restarted.', 'Show Logs').then((a) => {
                if (a) this.log.show();
              });
            }
            // the status bar shows the engine again once the new worker answers (onDidChangeState → Running)
            this.render('restarting');
            return { action: CloseAction.Restart, handled: true };
          }
          this.stoppedForGood = true;
          this.render();
          void vscode.window
            .showErrorMessage(`certseg: the worker crashed ${this.crashes.length} times in 3 minutes and was not restarted.`, 'Restart Worker', 'Show Logs')
            .then((a) => {
              if (a === 'Restart Worker') void vscode.commands.executeCommand('certseg.restartWorker');
              else if (a === 'Show Logs') this.log.show();
            });
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const client = new LanguageClient('certseg', 'certseg worker', serverOptions, clientOptions);
    this.client = client;
    this.disposables.push(
      client.onNotification(QueueStatusNotification.method, (q: QueueStatusParams) => {
        this.queue = q;
        this.render();
      }),
      client.onDidChangeState((e) => {
        // the first start and every automatic restart: ask the (new) worker for its engine, then redraw
        if (e.newState === State.Running) void this.refreshEngine();
        else this.render();
      }),
    );
    this.stoppedForGood = false;
    await client.start();
    return client;
  }

  async ensureStarted(): Promise<LanguageClient> {
    if (this.client?.state === State.Running) return this.client;
    if (this.client?.state === State.Starting) {
      await new Promise<void>((resolve) => {
        const d = this.client!.onDidChangeState((e) => {
          if (e.newState !== State.Starting) {
            d.dispose();
            resolve();
          }
        });
      });
      if ((this.client.state as State) === State.Running) return this.client;
    }
    return this.restart();
  }

  async restart(): Promise<LanguageClient> {
    this.crashes = [];
    const old = this.client;
    this.client = undefined;
    this.engine = null;
    if (old) {
      try {
        await old.stop(2000);
      } catch {
        /* already dead */
      }
      await old.dispose();
    }
    return this.start();
  }

  async refreshEngine(): Promise<void> {
    const c = this.client;
    if (!c || c.state !== State.Running) return;
    try {
      this.engine = await c.sendRequest(EngineInfoRequest.type);
      const p = this.engine.preferred;
      this.log.info(p ? `engine: ${p.engine} ${p.version} (${p.backend}, ${p.device})` : 'engine: none loads on this machine');
      for (const e of this.engine.engines) if (!e.available) this.log.info(`engine ${e.name} unavailable: ${e.reason ?? 'unknown reason'}`);
    } catch (e) {
      this.log.warn(`engine info failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.render();
  }

  get engineInfo(): EngineInfoResult | null {
    return this.engine;
  }

  private render(override?: 'restarting') {
    const s = this.status;
    const p = this.engine?.preferred;
    const eng = p ? `${p.engine}/${p.device}` : '';
    if (override === 'restarting') {
      s.text = '$(sync~spin) certseg: restarting';
      s.tooltip = 'The certseg worker stopped unexpectedly and is restarting.';
      s.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      return;
    }
    if (this.stoppedForGood || this.client?.state === State.Stopped) {
      s.text = '$(error) certseg: stopped';
      s.tooltip = 'The certseg worker is not running. Click for actions.';
      s.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      return;
    }
    s.backgroundColor = undefined;
    const r = this.queue.running;
    if (r) {
      const q = this.queue.queued.length;
      s.text = `$(sync~spin) certseg: ${r.kind === 'certifyImage' ? 'certifying' : r.kind === 'recertify' ? 're-certifying' : 'dataset'}${q ? ` (+${q} queued)` : ''}`;
      s.tooltip = `Running: ${r.label}${q ? `\nQueued: ${this.queue.queued.map((x) => x.label).join(', ')}` : ''}${eng ? `\nEngine: ${eng}` : ''}`;
      return;
    }
    s.text = `$(shield) certseg${eng ? `: ${eng}` : ''}`;
    s.tooltip = p ? `Engine: ${p.engine} ${p.version}, backend ${p.backend}, device ${p.device}` : 'certseg worker';
  }

  /** Rejects and tells the user when runs are not possible. */
  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.status.dispose();
    this.log.dispose();
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.stop(2000).catch(() => undefined);
  }
}
