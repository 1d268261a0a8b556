/** The protocol between the extension and the worker, and the shapes both sides share (see README's layout). */
export * from './messages';
export * from './results';
export * from './config';
export * from './webview';
