/**
 * A user-facing failure: bad input, bad config, missing model, cancelled run.
 * The CLI prints `message` as one line (no stack) and exits with `exitCode`;
 * the worker turns it into a JSON-RPC ResponseError with the same message.
 */
export class CertsegError extends Error {
  constructor(
    message: string,
    readonly code: CertsegErrorCode = 'input',
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CertsegError';
  }
}

export type CertsegErrorCode =
  | 'input' // unreadable/corrupt image or mask, mismatched sizes
  | 'config' // invalid config or model card
  | 'model' // missing model, shapes that contradict the card, NaN outputs
  | 'infeasible' // parameters under which nothing can ever be certified
  | 'cancelled';

export function isCertsegError(e: unknown): e is CertsegError {
  return e instanceof CertsegError;
}
