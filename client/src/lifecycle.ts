/**
 * Lifetimes on the client side, without `vscode` (unit-tested in test/client/lifecycle.test.ts):
 * - `DisposableStore`: a list of things to release together;
 * - `Disposable`: a base class whose `_register` ties a resource to the object's lifetime;
 * - `ClientLifecycle`: one language client at a time (start, stop, restart). What belongs to one client
 *   instance (its notification and state listeners) lives in that client's own scope, released whenever
 *   the client is replaced or stopped, so restarts do not pile up listeners on the extension's list.
 */

export interface IDisposable {
  dispose(): unknown;
}

/** Things released together, last added first. Cleared, it can be used again; disposed, it releases what is added later at once. */
export class DisposableStore implements IDisposable {
  private items: IDisposable[] = [];
  private disposed = false;

  add<T extends IDisposable>(d: T): T {
    if (this.disposed) void d.dispose();
    else this.items.push(d);
    return d;
  }

  /** How many are held now. */
  get size(): number {
    return this.items.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Releases everything held (each once; one that throws does not keep the others). */
  clear(): void {
    const items = this.items.reverse();
    this.items = [];
    for (const d of items) {
      try {
        void d.dispose();
      } catch {
        /* released as far as it goes */
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    this.clear();
  }
}

/** A base class for objects that own resources: `_register` ties one to this object's lifetime. */
export abstract class Disposable implements IDisposable {
  private readonly _store = new DisposableStore();

  protected _register<T extends IDisposable>(d: T): T {
    return this._store.add(d);
  }

  dispose(): void {
    this._store.dispose();
  }
}

/** How a `ClientLifecycle` makes, starts and ends its client (a LanguageClient in the extension). */
export interface ClientHooks<C> {
  /** A new client; whatever belongs to this instance is added to `scope`. */
  create(scope: DisposableStore): C;
  start(client: C): Promise<void>;
  /** Stops the client (with a timeout); a failure means it is already gone. */
  stop(client: C): Promise<void>;
  /** Releases a client that is replaced (after `stop`). */
  dispose(client: C): Promise<void> | void;
  /** True when the client stopped for good (a new one is needed). */
  stopped(client: C): boolean;
}

/** One client at a time, with a scope of its own: start, restart (replace), stop. */
export class ClientLifecycle<C> implements IDisposable {
  private current: { client: C; scope: DisposableStore } | undefined;

  constructor(private readonly hooks: ClientHooks<C>) {}

  /** The current client, if any. */
  get client(): C | undefined {
    return this.current?.client;
  }

  /** How many resources the current client's scope holds (0 with none). */
  get scopeSize(): number {
    return this.current?.scope.size ?? 0;
  }

  /** The current client unless it stopped for good; else a new one (the old one's scope is released). */
  async start(): Promise<C> {
    const cur = this.current;
    if (cur && !this.hooks.stopped(cur.client)) return cur.client;
    if (cur) {
      this.current = undefined;
      cur.scope.dispose();
    }
    const scope = new DisposableStore();
    const client = this.hooks.create(scope);
    this.current = { client, scope };
    await this.hooks.start(client);
    return client;
  }

  /** Stops and releases the current client (and its scope), then starts a new one. */
  async restart(): Promise<C> {
    const old = this.current;
    this.current = undefined;
    if (old) {
      old.scope.dispose();
      await this.hooks.stop(old.client).catch(() => undefined);
      await this.hooks.dispose(old.client);
    }
    return this.start();
  }

  /** Stops the current client and releases its scope (deactivation). */
  async stop(): Promise<void> {
    const old = this.current;
    this.current = undefined;
    if (!old) return;
    old.scope.dispose();
    await this.hooks.stop(old.client).catch(() => undefined);
  }

  /** Releases the current client's scope (the client itself is stopped by `stop`). */
  dispose(): void {
    this.current?.scope.dispose();
  }
}
