/**
 * The client's lifetimes (client/src/lifecycle.ts), without VS Code: what one client instance registers is
 * released when it is replaced, so restarts do not pile up listeners; extension-lifetime resources stay
 * until the owner is disposed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientLifecycle, Disposable, DisposableStore, type IDisposable } from '../../client/src/lifecycle';

/** A listener registration that counts how many are alive. */
class Registry {
  live = 0;
  add(): IDisposable {
    this.live++;
    let done = false;
    return {
      dispose: () => {
        if (!done) this.live--;
        done = true;
      },
    };
  }
}

class FakeClient {
  state: 'new' | 'running' | 'stopped' | 'disposed' = 'new';
  constructor(readonly id: number) {}
}

function lifecycle(listeners: Registry, perClient = 2) {
  const made: FakeClient[] = [];
  const lc = new ClientLifecycle<FakeClient>({
    create: (scope) => {
      const c = new FakeClient(made.length);
      made.push(c);
      for (let i = 0; i < perClient; i++) scope.add(listeners.add());
      return c;
    },
    start: async (c) => {
      c.state = 'running';
    },
    stop: async (c) => {
      c.state = 'stopped';
    },
    dispose: (c) => {
      c.state = 'disposed';
    },
    stopped: (c) => c.state === 'stopped',
  });
  return { lc, made };
}

test('DisposableStore: releases everything once, last added first; after dispose, what is added is released at once', () => {
  const order: number[] = [];
  const s = new DisposableStore();
  for (const i of [1, 2, 3]) s.add({ dispose: () => order.push(i) });
  assert.equal(s.size, 3);
  s.clear();
  assert.deepEqual(order, [3, 2, 1]);
  assert.equal(s.size, 0);
  s.clear();
  assert.deepEqual(order, [3, 2, 1]);
  s.dispose();
  s.add({ dispose: () => order.push(4) });
  assert.deepEqual(order, [3, 2, 1, 4]);
  assert.equal(s.size, 0);
});

test('DisposableStore: one that throws does not keep the others', () => {
  let released = 0;
  const s = new DisposableStore();
  s.add({ dispose: () => released++ });
  s.add({
    dispose: () => {
      throw new Error('boom');
    },
  });
  s.add({ dispose: () => released++ });
  s.dispose();
  assert.equal(released, 2);
});

test('Disposable: _register ties a resource to the owner', () => {
  const r = new Registry();
  class Owner extends Disposable {
    constructor() {
      super();
      this._register(r.add());
      this._register(r.add());
    }
  }
  const o = new Owner();
  assert.equal(r.live, 2);
  o.dispose();
  assert.equal(r.live, 0);
});

test('ClientLifecycle: the listeners registered stay constant over restarts; the old client is stopped and disposed', async () => {
  const listeners = new Registry();
  const { lc, made } = lifecycle(listeners);
  const first = await lc.start();
  assert.equal(first.state, 'running');
  assert.equal(await lc.start(), first, 'start returns the running client');
  assert.equal(listeners.live, 2);
  assert.equal(lc.scopeSize, 2);
  for (let i = 0; i < 5; i++) {
    await lc.restart();
    assert.equal(listeners.live, 2, `after restart ${i + 1}`);
    assert.equal(lc.scopeSize, 2);
  }
  assert.equal(made.length, 6);
  assert.ok(made.slice(0, -1).every((c) => c.state === 'disposed'));
  assert.equal(lc.client, made[5]);
  assert.equal(made[5].state, 'running');
});

test('ClientLifecycle: a client that stopped for good is replaced by start, and its listeners go', async () => {
  const listeners = new Registry();
  const { lc, made } = lifecycle(listeners);
  await lc.start();
  made[0].state = 'stopped'; // crashed too often: the client library gave up
  const next = await lc.start();
  assert.notEqual(next, made[0]);
  assert.equal(listeners.live, 2);
});

test('ClientLifecycle: stop releases the client and its listeners; concurrent restarts leave one client', async () => {
  const listeners = new Registry();
  const { lc, made } = lifecycle(listeners);
  await lc.start();
  const [a, b] = await Promise.all([lc.restart(), lc.restart()]);
  assert.equal(a, b);
  assert.equal(lc.client, a);
  assert.equal(listeners.live, 2);
  await lc.stop();
  assert.equal(lc.client, undefined);
  assert.equal(listeners.live, 0);
  assert.equal(made.at(-1)!.state, 'stopped');
  lc.dispose();
  assert.equal(listeners.live, 0);
});
