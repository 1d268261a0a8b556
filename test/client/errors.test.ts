/** Worker errors as the user reads them (client/src/errors.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from 'vscode-languageserver-protocol';
import { errorMessage, workerGone } from '../../client/src/errors';

test("a worker that went away: by code or by the transport's wording; shown in plain words", () => {
  assert.ok(workerGone({ code: ErrorCodes.PendingResponseRejected, message: 'x' }));
  assert.ok(workerGone({ code: ErrorCodes.ConnectionInactive, message: 'x' }));
  assert.ok(workerGone(new Error('Pending response rejected since connection got disposed')));
  assert.ok(workerGone(new Error("Client is not running and can't be stopped")));
  assert.ok(!workerGone(new Error('no such file')));
  assert.ok(!workerGone(null));
  assert.ok(!workerGone('text'));
  assert.equal(
    errorMessage(new Error('Connection is closed.')),
    'The certseg worker stopped during the run (it restarts by itself); nothing was certified.',
  );
});

test('other errors: the message of a response error, an Error, or the value', () => {
  assert.equal(errorMessage({ code: -32001, message: 'the mask is 3x3, the image 4x4' }), 'the mask is 3x3, the image 4x4');
  assert.equal(errorMessage({ code: -32603, message: 'internal' }), 'internal');
  assert.equal(errorMessage(new Error('boom')), 'boom');
  assert.equal(errorMessage('plain'), 'plain');
});
