/**
 * The certseg worker process: a language server (JSON-RPC over IPC, or --stdio) that the extension
 * starts. This file only wires the parts together:
 *  - the runs (runHandlers.ts): certifyImage / certifyDataset / recertify / consistency, params checked
 *    first (params.ts), then queued (runQueue.ts) and run one at a time, each in a child process
 *    (runProcess.ts starts runChild.js; a worker_thread cannot be terminated safely mid-inference), so this
 *    JSON-RPC loop stays free to read $/cancelRequest; cancelling kills the run (effective at once, even
 *    mid-inference) and answers RequestCancelled; one run process is kept warm between runs (models loaded)
 *    and exits by itself when idle, so memory returns to idle then;
 *  - the queries answered outside the queue (queryHandlers.ts): listDataset, displayImage, engineInfo;
 *  - editor support (editorFeatures.ts): `*.certseg.json` diagnostics and hovers (configFeatures.ts),
 *    `*.card.json`: the `certseg card check` of the card as diagnostics and hovers (cardFeatures.ts).
 * Note: handlers are registered and notifications sent by `method` string (onRequest/onRequest0 below):
 * protocol.ts is built on the top-level vscode-languageserver-protocol while an older vscode-languageserver
 * bundles its own copy, so its type objects don't type-check against this connection's overloads.
 * Nothing here writes to stdout (it is the transport under --stdio): console output goes to the client's log.
 */
import { type CancellationToken, type Connection, ProposedFeatures, TextDocumentSyncKind, TextDocuments, createConnection } from 'vscode-languageserver/node';
import type { ProtocolRequestType, ProtocolRequestType0 } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CertifyDatasetRequest,
  CertifyImageRequest,
  ConsistencyRequest,
  DisplayImageRequest,
  EngineInfoRequest,
  ListDatasetRequest,
  QueueStatusNotification,
  RecertifyRequest,
} from '../../../protocol/messages';
import { packageVersion } from '../version';
import { EditorFeatures } from './editorFeatures';
import { queryHandlers } from './queryHandlers';
import { runHandlers } from './runHandlers';
import { RunProcesses } from './runProcess';
import { RunQueue } from './runQueue';

const connection: Connection = createConnection(ProposedFeatures.all);
// Never write to stdout: route console output to the client's log.
console.log = (...a: unknown[]) => connection.console.log(a.map(String).join(' '));
console.info = (...a: unknown[]) => connection.console.info(a.map(String).join(' '));
console.warn = (...a: unknown[]) => connection.console.warn(a.map(String).join(' '));
console.error = (...a: unknown[]) => connection.console.error(a.map(String).join(' '));
console.debug = console.log;

/* eslint-disable @typescript-eslint/no-explicit-any */
function onRequest<P, R>(type: ProtocolRequestType<P, R, any, any, any>, handler: (params: P, token: CancellationToken) => Promise<R>): void {
  // jsonrpc calls a method-name handler with (token) when the request has no params, (params, token) otherwise.
  connection.onRequest(type.method, (...args: unknown[]) => handler((args.length > 1 ? args[0] : undefined) as P, args[args.length - 1] as CancellationToken));
}
function onRequest0<R>(type: ProtocolRequestType0<R, any, any, any>, handler: (token: CancellationToken) => Promise<R>): void {
  connection.onRequest(type.method, (...args: unknown[]) => handler(args[args.length - 1] as CancellationToken));
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// Runs: one queue, one warm run process; the queue's state goes to the client after every change.
const processes = new RunProcesses({ log: (m) => connection.console.log(m), warn: (m) => connection.console.warn(m), error: (m) => connection.console.error(m) });
const queue = new RunQueue(processes, (q) => void connection.sendNotification(QueueStatusNotification.method, q).catch(() => undefined));

const runs = runHandlers(connection, queue);
onRequest(CertifyImageRequest.type, runs.certifyImage);
onRequest(CertifyDatasetRequest.type, runs.certifyDataset);
onRequest(RecertifyRequest.type, runs.recertify);
onRequest(ConsistencyRequest.type, runs.consistency);

const queries = queryHandlers(processes);
onRequest(ListDatasetRequest.type, queries.listDataset);
onRequest(DisplayImageRequest.type, queries.displayImage);
onRequest0(EngineInfoRequest.type, queries.engineInfo);

// Editor support for the open *.certseg.json and *.card.json documents.
const documents = new TextDocuments(TextDocument);
const editor = new EditorFeatures(connection, documents);
documents.onDidChangeContent(({ document }) => editor.changed(document));
documents.onDidClose(({ document }) => editor.closed(document));
connection.onHover((params) => editor.hover(params));

connection.onInitialize(() => ({
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.Incremental,
    hoverProvider: true,
  },
  serverInfo: { name: 'certseg-worker', version: packageVersion() },
}));

connection.onShutdown(() => {
  queue.cancelQueued();
});

documents.listen(connection);
connection.listen();
