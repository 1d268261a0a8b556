/**
 * The worker's lifecycle on the client side (the extension's lifecycle object): start (TransportKind.ipc),
 * restart on crashes with a user-visible message, stop; the status-bar item (engine/device, running/queued
 * runs, stopped state). Extension-lifetime resources (log, status item) are `_register`ed on the Worker;
 * what belongs to one LanguageClient instance goes on that client's scope (lifecycle.ts), released on every
 * restart.
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
import { EngineInfoRequest, type EngineInfoResult, QueueStatusNotification, type QueueStatusParams } from '../../protocol/messages';
import { ClientLifecycle, Disposable, type DisposableStore } from './lifecycle';
import { CrashWindow, MAX_RESTARTS, RESTART_WINDOW_MS, statusView } from './workerStatus';

export class Worker extends Disposable {
  readonly log: vscode.LogOutputChannel;
  private readonly status: vscode.StatusBarItem;
  private engine: EngineInfoResult | null = null;
  private queue: QueueStatusParams = { running: null, queued: [] };
  private readonly crashes = new CrashWindow(MAX_RESTARTS, RESTART_WINDOW_MS);
  private stoppedForGood = false;
  private readonly lifecycle: ClientLifecycle<LanguageClient>;

  constructor(private readonly context: vscode.ExtensionContext) {
    super();
    this.log = this._register(vscode.window.createOutputChannel('certseg', { log: true }));
    this.status = this._register(vscode.window.createStatusBarItem('certseg.status', vscode.StatusBarAlignment.Right, 100));
    this.status.name = 'certseg';
    this.status.command = 'certseg.showStatusMenu';
    this.lifecycle = this._register(
      new ClientLifecycle<LanguageClient>({
        create: (scope) => this.createClient(scope),
        start: async (client) => {
          this.stoppedForGood = false;
          await client.start();
        },
        stop: (client) => client.stop(2000),
        dispose: (client) => client.dispose(),
        stopped: (client) => client.state === State.Stopped,
      }),
    );
    this.render();
    this.status.show();
  }

  /** The current LanguageClient (undefined between a stop and the next start). */
  get client(): LanguageClient | undefined {
    return this.lifecycle.client;
  }

  /** How many listeners the current client holds (constant over restarts; see lifecycle.ts). */
  get clientScopeSize(): number {
    return this.lifecycle.scopeSize;
  }

  start(): Promise<LanguageClient> {
    return this.lifecycle.start();
  }

  /** A new LanguageClient; its listeners go on `scope`, released when it is replaced. */
  private createClient(scope: DisposableStore): LanguageClient {
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
        ? ['**/*.certseg.json', '**/*.card.json'].flatMap((pattern) => [
            { scheme: 'file', language: 'json', pattern },
            { scheme: 'file', pattern },
          ])
        : [],
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      connectionOptions: { maxRestartCount: MAX_RESTARTS },
      errorHandler: {
        error: (_error, _message, count) => ({ action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
        closed: () => {
          const crashes = this.crashes.record(Date.now());
          this.engine = null;
          // a run in progress is lost: whoever started it says so, with a Retry (one message, not two)
          const lostRun = this.queue.running;
          this.queue = { running: null, queued: [] };
          if (this.crashes.mayRestart) {
            this.log.warn(
              `certseg worker stopped unexpectedly; restarting (${crashes}/${MAX_RESTARTS} in 3 minutes)${lostRun ? `; the run of ${lostRun.label} was lost` : ''}`,
            );
            if (!lostRun) {
              void vscode.window
                .showWarningMessage('certseg: the worker stopped unexpectedly and was restarted.', 'Show Logs')
                .then((a) => {
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
            .showErrorMessage(
              `certseg: the worker crashed ${crashes} times in 3 minutes and was not restarted.`,
              'Restart Worker',
              'Show Logs',
            )
            .then((a) => {
              if (a === 'Restart Worker') void vscode.commands.executeCommand('certseg.restartWorker');
              else if (a === 'Show Logs') this.log.show();
            });
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const client = new LanguageClient('certseg', 'certseg worker', serverOptions, clientOptions);
    scope.add(
      client.onNotification(QueueStatusNotification.type, (q: QueueStatusParams) => {
        this.queue = q;
        this.render();
      }),
    );
    scope.add(
      client.onDidChangeState((e) => {
        // the first start and every automatic restart: ask the (new) worker for its engine, then redraw
        if (e.newState === State.Running) void this.refreshEngine();
        else this.render();
      }),
    );
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

  /** A new worker (the old one is stopped and its client's listeners released). */
  restart(): Promise<LanguageClient> {
    this.crashes.reset();
    this.engine = null;
    return this.lifecycle.restart();
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
    const v = statusView({
      engine: this.engine,
      queue: this.queue,
      restarting: override === 'restarting',
      stopped: this.stoppedForGood || this.client?.state === State.Stopped,
    });
    this.status.text = v.text;
    this.status.tooltip = v.tooltip;
    this.status.backgroundColor = v.background ? new vscode.ThemeColor(`statusBarItem.${v.background}Background`) : undefined;
  }

  /** Stops the worker (deactivation); the log and the status item go with `dispose`. */
  stop(): Promise<void> {
    return this.lifecycle.stop();
  }
}
