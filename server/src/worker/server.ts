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
 * Handlers are registered and notifications sent with the protocol's type objects (protocol/messages.ts):
 * the protocol module and vscode-languageserver share one vscode-languageserver-protocol (a direct
 * dependency, pinned at the version the LSP libraries use), so they type-check without adapters or casts.
 * Nothing here writes to stdout (it is the transport under --stdio): console output goes to the client's log.
 */
import { type Connection, ProposedFeatures, TextDocumentSyncKind, TextDocuments, createConnection } from 'vscode-languageserver/node';
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

// Runs: one queue, one warm run process; the queue's state goes to the client after every change.
const processes = new RunProcesses({
  log: (m) => connection.console.log(m),
  warn: (m) => connection.console.warn(m),
  error: (m) => connection.console.error(m),
});
const queue = new RunQueue(processes, (q) => void connection.sendNotification(QueueStatusNotification.type, q).catch(() => undefined));

const runs = runHandlers(connection, queue);
connection.onRequest(CertifyImageRequest.type, runs.certifyImage);
connection.onRequest(CertifyDatasetRequest.type, runs.certifyDataset);
connection.onRequest(RecertifyRequest.type, runs.recertify);
connection.onRequest(ConsistencyRequest.type, runs.consistency);

const queries = queryHandlers(processes);
connection.onRequest(ListDatasetRequest.type, queries.listDataset);
connection.onRequest(DisplayImageRequest.type, queries.displayImage);
connection.onRequest(EngineInfoRequest.type, queries.engineInfo);

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
