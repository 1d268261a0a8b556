/**
 * Errors of worker requests as the user reads them. Without `vscode` (unit-tested in
 * test/client/errors.test.ts).
 */
import { ErrorCodes } from 'vscode-languageserver-protocol';

/**
 * The request failed because the worker went away under it (killed, crashed): vscode-jsonrpc rejects the
 * pending requests of a disposed connection. The client restarts the worker by itself.
 */
export function workerGone(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  const code = (e as { code?: unknown }).code;
  const message = String((e as { message?: unknown }).message ?? '');
  return (
    code === ErrorCodes.PendingResponseRejected ||
    code === ErrorCodes.ConnectionInactive ||
    /connection got disposed|Connection is (closed|disposed)|Client is not running/i.test(message)
  );
}

/** One line for the user: a worker error's message (CertsegErrorCodes.UserError ones are meant to be shown as is), never the transport's wording. */
export function errorMessage(e: unknown): string {
  // never the transport's wording ("Pending response rejected since connection got disposed")
  if (workerGone(e)) return 'The certseg worker stopped during the run (it restarts by itself); nothing was certified.';
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return String((e as { message: string }).message);
  return e instanceof Error ? e.message : String(e);
}
