/**
 * The certseg worker process: a language server (JSON-RPC over IPC, or --stdio) that the extension
 * starts. It owns
 *  - the run queue: certifyImage / certifyDataset / recertify run one at a time, each in its own child
 *    process (runThread.js; a worker_thread cannot be terminated safely mid-inference, see there), so this
 *    JSON-RPC loop stays free to read $/cancelRequest; cancelling kills the run (effective at once, even
 *    mid-inference) and answers RequestCancelled; one run process is kept warm between runs (models loaded)
 *    and exits by itself when idle, so memory returns to idle then;
 *  - editor support for `*.certseg.json`: semantic diagnostics (configDiagnostics; structure is the JSON Schema's) and hovers (facts and implications).
 *  - editor support for `*.card.json`: the `certseg card check` of the card as diagnostics and hovers (cardDocs.ts).
 * Nothing here writes to stdout (it is the transport under --stdio): console output goes to the client's log.
 *
 * Note: messages the server SENDS use the `method` string, not the protocol's type object: protocol.ts is
 * built on the top-level vscode-languageserver-protocol while vscode-languageserver bundles its own copy,
 * and jsonrpc compares ParameterStructures by identity when sending with a type object.
 */
import { checkOutputDir, type OutputKind } from '../pipeline/outputLocation';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { packageVersion } from '../version';
import {
  type CancellationToken,
  type Connection,
  type Diagnostic,
  DiagnosticSeverity,
  ErrorCodes,
  type Hover,
  MarkupKind,
  ProposedFeatures,
  ResponseError,
  TextDocumentSyncKind,
  TextDocuments,
  type WorkDoneProgressReporter,
  ProgressType,
  createConnection,
} from 'vscode-languageserver/node';
import type { ProtocolRequestType, ProtocolRequestType0 } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { fileURLToPath } from 'node:url';
import { analyzeConfig, configDiagnostics } from '../config/diagnostics';
import {
  CertifyDatasetRequest,
  CertifyImageRequest,
  CertsegErrorCodes,
  ConsistencyRequest,
  type ConsistencyResultWire,
  DisplayImageRequest,
  type DisplayImageResult,
  EngineInfoRequest,
  ListDatasetRequest,
  type SliceSpecWire,
  type ListDatasetResult,
  type CertifyImageResultWire,
  type DatasetSummaryWire,
  type EngineInfoResult,
  type PartialResultWire,
  QueueStatusNotification,
  RecertifyRequest,
} from '../../../protocol/messages';
import { jsonPointerRange, schemaHover, topLevelKeyAt } from './jsonLocate';
import { cardDiagnostics, cardHover } from './cardDocs';
import type { CardCheckResult } from '../models/cardCheck';
import type { ImageReport } from '../pipeline/types';
import { cancelled, runInProcess, setRunLog } from './runProcess';
import { cancelQueued, onQueueChange, submit } from './runQueue';

const connection: Connection = createConnection(ProposedFeatures.all);
// Never write to stdout: route console output to the client's log.
console.log = (...a: unknown[]) => connection.console.log(a.map(String).join(' '));
console.info = (...a: unknown[]) => connection.console.info(a.map(String).join(' '));
console.warn = (...a: unknown[]) => connection.console.warn(a.map(String).join(' '));
console.error = (...a: unknown[]) => connection.console.error(a.map(String).join(' '));
console.debug = console.log;

setRunLog({ log: (m) => connection.console.log(m), warn: (m) => connection.console.warn(m), error: (m) => connection.console.error(m) });
onQueueChange((q) => void connection.sendNotification(QueueStatusNotification.method, q).catch(() => undefined));

/**
 * Registers a handler by method name with the types of protocol.ts's request type (protocol.ts is built on
 * the top-level vscode-languageserver-protocol, a different copy from the one vscode-languageserver uses,
 * so its type objects don't type-check against this connection's overloads).
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
function onRequest<P, R>(type: ProtocolRequestType<P, R, any, any, any>, handler: (params: P, token: CancellationToken) => Promise<R>): void {
  // jsonrpc calls a method-name handler with (token) when the request has no params, (params, token) otherwise.
  connection.onRequest(type.method, (...args: unknown[]) => handler((args.length > 1 ? args[0] : undefined) as P, args[args.length - 1] as CancellationToken));
}
function onRequest0<R>(type: ProtocolRequestType0<R, any, any, any>, handler: (token: CancellationToken) => Promise<R>): void {
  // jsonrpc calls a method-name handler with (token) when the request has no params, (params, token) otherwise.
  connection.onRequest(type.method, (...args: unknown[]) => handler(args[args.length - 1] as CancellationToken));
}
/* eslint-enable @typescript-eslint/no-explicit-any */
const partialResultType = new ProgressType<PartialResultWire>();

// ---------------------------------------------------------------------------------------------------
// Parameter checks
// ---------------------------------------------------------------------------------------------------

function invalid(message: string) {
  return new ResponseError(ErrorCodes.InvalidParams, message);
}
function userError(message: string, code = 'input') {
  return new ResponseError(CertsegErrorCodes.UserError, message, { code });
}
function requireObject(method: string, params: unknown): Record<string, unknown> {
  if (!params || typeof params !== 'object' || Array.isArray(params)) throw invalid(`${method}: params must be an object`);
  return params as Record<string, unknown>;
}
function requirePath(method: string, p: Record<string, unknown>, key: string, what: string, optional = false): string | null {
  const v = p[key];
  if (v === undefined || v === null) {
    if (optional) return null;
    throw invalid(`${method}: params.${key} (${what}) is required`);
  }
  if (typeof v !== 'string' || !isAbsolute(v)) throw invalid(`${method}: params.${key} must be an absolute path (got ${JSON.stringify(v)})`);
  return v;
}
function requireFile(path: string, what: string, code = 'input') {
  let ok = false;
  try {
    ok = statSync(path).isFile();
  } catch {
    /* missing */
  }
  if (!ok) throw userError(`${what} not found: ${path}`, code);
}
async function requireOutputDir(dir: string, kind: OutputKind) {
  try {
    await checkOutputDir(dir, kind);
  } catch (e) {
    throw userError((e as Error).message, 'input');
  }
}
function requireDir(path: string, what: string) {
  let ok = false;
  try {
    ok = statSync(path).isDirectory();
  } catch {
    /* missing */
  }
  if (!ok) throw userError(`${what} not found: ${path}`);
}
function overridesOf(method: string, p: Record<string, unknown>) {
  const o = p.overrides;
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object' || Array.isArray(o)) throw invalid(`${method}: params.overrides must be an object`);
  return o as Record<string, unknown>;
}

function percentReporter(reporter: WorkDoneProgressReporter) {
  let last = -1;
  let lastMsg = '';
  return (e: { percent: number; phase: string; message: string }) => {
    const pct = Math.max(0, Math.min(100, Math.round(e.percent)));
    // the pipeline's messages may already start with the phase ("estimation 8/100 samples"): say it once
    const msg = !e.message ? e.phase : e.message.startsWith(e.phase) ? e.message : `${e.phase}: ${e.message}`;
    if (pct === last && msg === lastMsg) return;
    last = pct;
    lastMsg = msg;
    reporter.report(pct, msg);
  };
}

// ---------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------

onRequest(CertifyImageRequest.type, async (params, token) => {
  const m = CertifyImageRequest.method;
  const p = requireObject(m, params);
  const imagePath = requirePath(m, p, 'imagePath', 'absolute path of the image')!;
  const maskPath = requirePath(m, p, 'maskPath', 'absolute path of the mask', true);
  const configPath = requirePath(m, p, 'configPath', 'absolute path of a *.certseg.json', true);
  const outDir = requirePath(m, p, 'outDir', 'absolute output folder', true);
  const slice = sliceParam(m, p);
  requireFile(imagePath, 'Image');
  if (maskPath) requireFile(maskPath, 'Mask');
  if (configPath) requireFile(configPath, 'Config', 'config');
  if (outDir) await requireOutputDir(outDir, 'image'); // refused before it is queued
  const interval = typeof p.partialIntervalMs === 'number' && p.partialIntervalMs >= 0 ? p.partialIntervalMs : 250;
  const reporter = await connection.window.attachWorkDoneProgress(params.workDoneToken);
  reporter.begin('Certifying', 0, 'queued', true);
  const partialToken = params.partialResultToken;
  try {
    return (await submit(
      'certifyImage',
      imagePath,
      { kind: 'certifyImage', imagePath, slice, maskPath, configPath, overrides: overridesOf(m, p), outDir, partialIntervalMs: interval, partials: partialToken !== undefined },
      token,
      {
        onProgress: percentReporter(reporter),
        onPartial: (partial) => {
          if (partialToken !== undefined) void connection.sendProgress(partialResultType, partialToken, partial).catch(() => undefined);
        },
      },
      () => reporter.report(0, 'starting'),
    )) as CertifyImageResultWire;
  } finally {
    reporter.done();
  }
});

onRequest(CertifyDatasetRequest.type, async (params, token) => {
  const m = CertifyDatasetRequest.method;
  const p = requireObject(m, params);
  const dir = requirePath(m, p, 'dir', 'absolute dataset folder')!;
  const outDir = requirePath(m, p, 'outDir', 'absolute output folder')!;
  const configPath = requirePath(m, p, 'configPath', 'absolute path of a *.certseg.json', true);
  requireDir(dir, 'Dataset folder');
  if (configPath) requireFile(configPath, 'Config', 'config');
  await requireOutputDir(outDir, 'dataset');
  const limit = typeof p.limit === 'number' ? p.limit : undefined;
  const resume = typeof p.resume === 'boolean' ? p.resume : undefined;
  const reporter = await connection.window.attachWorkDoneProgress(params.workDoneToken);
  reporter.begin('Certifying dataset', 0, 'queued', true);
  try {
    return (await submit(
      'certifyDataset',
      dir,
      { kind: 'certifyDataset', dir, outDir, configPath, overrides: overridesOf(m, p), limit, resume },
      token,
      { onProgress: percentReporter(reporter) },
      () => reporter.report(0, 'starting'),
    )) as DatasetSummaryWire;
  } finally {
    reporter.done();
  }
});

onRequest(RecertifyRequest.type, async (params, token) => {
  const m = RecertifyRequest.method;
  const p = requireObject(m, params);
  const dir = requirePath(m, p, 'dir', 'absolute result folder')!;
  requireDir(dir, 'Result folder');
  const { tau, alpha, correction } = params;
  return (await submit('recertify', dir, { kind: 'recertify', dir, params: { tau, alpha, correction } }, token, {}, () => undefined)) as ImageReport;
});

onRequest(ConsistencyRequest.type, async (params, token) => {
  const m = ConsistencyRequest.method;
  const p = requireObject(m, params);
  const imagePath = requirePath(m, p, 'imagePath', 'absolute path of the image')!;
  const configPath = requirePath(m, p, 'configPath', 'absolute path of a *.certseg.json', true);
  requireFile(imagePath, 'Image');
  if (configPath) requireFile(configPath, 'Config', 'config');
  let cropSelection: number | null = 8;
  if (p.cropSelection === null) cropSelection = null;
  else if (p.cropSelection !== undefined) {
    if (typeof p.cropSelection !== 'number' || !Number.isInteger(p.cropSelection) || p.cropSelection < 1) {
      throw invalid(`${m}: params.cropSelection must be a positive integer window size or null (got ${JSON.stringify(p.cropSelection)})`);
    }
    cropSelection = p.cropSelection;
  }
  const reporter = await connection.window.attachWorkDoneProgress(params.workDoneToken);
  reporter.begin('Translation consistency', 0, 'queued', true);
  try {
    return (await submit(
      'consistency',
      imagePath,
      { kind: 'consistency', imagePath, slice: sliceParam(m, p), configPath, overrides: overridesOf(m, p), cropSelection },
      token,
      { onProgress: percentReporter(reporter) },
      () => reporter.report(0, 'starting'),
    )) as ConsistencyResultWire;
  } finally {
    reporter.done();
  }
});

onRequest(ListDatasetRequest.type, async (params) => {
  const m = ListDatasetRequest.method;
  const p = requireObject(m, params);
  const dir = requirePath(m, p, 'dir', 'absolute dataset folder or manifest')!;
  const offset = typeof p.offset === 'number' && p.offset >= 0 ? Math.floor(p.offset) : 0;
  const limit = typeof p.limit === 'number' && p.limit >= 1 ? Math.min(5000, Math.floor(p.limit)) : 200;
  const split = typeof p.split === 'string' && p.split ? p.split : undefined;
  // Loaded on first use: image/dataset pulls in the image readers (sharp), which the idle loop does not need.
  const { findDatasetPairs } = await import('../image/dataset');
  const { isCertsegError } = await import('../core/errors');
  const warnings: string[] = [];
  try {
    const pairs = await findDatasetPairs(dir, { split, onWarning: (w) => warnings.push(w) });
    return { total: pairs.length, pairs: pairs.slice(offset, offset + limit).map((x) => ({ id: x.id, image: x.image, mask: x.mask })), warnings } satisfies ListDatasetResult;
  } catch (e) {
    if (isCertsegError(e)) throw userError(e.message, e.code);
    throw e;
  }
});

/** params.slice: absent/null, or { axis: x|y|z, index: integer ≥ 0 } */
function sliceParam(method: string, p: Record<string, unknown>): SliceSpecWire | null {
  const s = p.slice as Record<string, unknown> | null | undefined;
  if (s === undefined || s === null) return null;
  if (typeof s !== 'object' || !['x', 'y', 'z'].includes(s.axis as string) || typeof s.index !== 'number' || !Number.isInteger(s.index) || s.index < 0) {
    throw invalid(`${method}: params.slice must be { axis: 'x' | 'y' | 'z', index: integer >= 0 } or null (got ${JSON.stringify(s)})`);
  }
  return { axis: s.axis as SliceSpecWire['axis'], index: s.index };
}

onRequest(DisplayImageRequest.type, async (params) => {
  const m = DisplayImageRequest.method;
  const p = requireObject(m, params);
  const imagePath = requirePath(m, p, 'imagePath', 'absolute path of a DICOM or NIfTI file')!;
  const slice = sliceParam(m, p);
  // Loaded on first use: the ITK WebAssembly readers are only needed once a medical file is previewed.
  const { displayImage } = await import('../image/display');
  const { isCertsegError } = await import('../core/errors');
  try {
    return (await displayImage(imagePath, slice)) satisfies DisplayImageResult;
  } catch (e) {
    if (isCertsegError(e)) throw userError(e.message, e.code);
    throw e;
  }
});

let engineInfo: Promise<EngineInfoResult> | null = null;
onRequest0(EngineInfoRequest.type, async (token) => {
  // Not queued (it only loads the runtimes), cached after the first success.
  engineInfo ??= runInProcess({ kind: 'engineInfo' }, undefined, {}).promise as Promise<EngineInfoResult>;
  try {
    const info = await engineInfo;
    if (token.isCancellationRequested) throw cancelled();
    return info;
  } catch (e) {
    engineInfo = null;
    throw e;
  }
});

// ---------------------------------------------------------------------------------------------------
// *.certseg.json: diagnostics and hovers
// ---------------------------------------------------------------------------------------------------

const documents = new TextDocuments(TextDocument);
const isConfigDoc = (uri: string) => uri.endsWith('.certseg.json');
const pendingValidation = new Map<string, NodeJS.Timeout>();

async function validate(doc: TextDocument) {
  const text = doc.getText();
  let path = doc.uri;
  try {
    path = fileURLToPath(doc.uri);
  } catch {
    /* not a file: URI */
  }
  let diagnostics: Diagnostic[] = [];
  try {
    const found = await configDiagnostics(text, path);
    if (documents.get(doc.uri)?.version !== doc.version) return; // stale
    diagnostics = found.map((d) => ({
      range: jsonPointerRange(doc, d.path),
      message: d.message,
      source: 'certseg',
      severity: d.severity === 'error' ? DiagnosticSeverity.Error : d.severity === 'warning' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
    }));
  } catch (e) {
    connection.console.error(`config diagnostics failed for ${path}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  }
  void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
}

// *.card.json: the `certseg card check` of the buffer, as diagnostics at the card's fields (cardDocs.ts);
// the last check of each card feeds its hovers. Runs one at a time: a check loads the card's models.
const isCardDoc = (uri: string) => uri.endsWith('.card.json');
const cardChecks = new Map<string, CardCheckResult | null>();
let cardCheckChain: Promise<void> = Promise.resolve();

function validateCard(doc: TextDocument): Promise<void> {
  cardCheckChain = cardCheckChain.then(async () => {
    if (documents.get(doc.uri)?.version !== doc.version) return; // superseded while waiting
    let diagnostics: Diagnostic[] = [];
    try {
      const { diagnostics: found, check } = await cardDiagnostics(doc.getText(), fileURLToPath(doc.uri));
      if (documents.get(doc.uri)?.version !== doc.version) return; // stale
      cardChecks.set(doc.uri, check);
      diagnostics = found.map((d) => ({
        range: jsonPointerRange(doc, d.path),
        message: d.message,
        source: 'certseg',
        severity: d.severity === 'error' ? DiagnosticSeverity.Error : d.severity === 'warning' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
      }));
    } catch (e) {
      connection.console.error(`card check failed for ${doc.uri}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    }
    void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
  });
  return cardCheckChain;
}

documents.onDidChangeContent(({ document }) => {
  if (isCardDoc(document.uri) && document.uri.startsWith('file:')) {
    clearTimeout(pendingValidation.get(document.uri));
    pendingValidation.set(document.uri, setTimeout(() => {
      pendingValidation.delete(document.uri);
      void validateCard(document);
    }, 400));
    return;
  }
  if (!isConfigDoc(document.uri)) return;
  clearTimeout(pendingValidation.get(document.uri));
  pendingValidation.set(document.uri, setTimeout(() => {
    pendingValidation.delete(document.uri);
    void validate(document);
  }, 200));
});
documents.onDidClose(({ document }) => {
  clearTimeout(pendingValidation.get(document.uri));
  pendingValidation.delete(document.uri);
  cardChecks.delete(document.uri);
  void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
});

let schema: Record<string, unknown> | null | undefined;
function loadSchema(): Record<string, unknown> | null {
  if (schema !== undefined) return schema;
  for (const p of [join(__dirname, '../../server/schemas/config.schema.json'), join(__dirname, '../schemas/config.schema.json')]) {
    if (existsSync(p)) {
      try {
        return (schema = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>);
      } catch {
        /* try next */
      }
    }
  }
  return (schema = null);
}

connection.onHover(async (params): Promise<Hover | null> => {
  const doc = documents.get(params.textDocument.uri);
  if (doc && isCardDoc(doc.uri)) {
    const at = topLevelKeyAt(doc, params.position);
    const value = at ? cardHover(at.key, cardChecks.get(doc.uri) ?? null) : null;
    return value ? { contents: { kind: MarkupKind.Markdown, value }, range: at!.range } : null;
  }
  if (!doc || !isConfigDoc(doc.uri)) return null;
  const s = loadSchema();
  if (!s) return null;
  const h = schemaHover(doc, params.position, s);
  if (!h) return null;
  const key = /^\*\*(\w+)\*\*/.exec(h.markdown)?.[1] ?? '';
  const { insights } = await analyzeConfig(doc.getText(), fileURLToPath(doc.uri)).catch(() => ({ insights: null }));
  const implied: string[] = [];
  if (insights && ['sigma', 'tau'].includes(key) && insights.radius !== null) implied.push(`certified radius σ·Φ⁻¹(τ) = ${insights.radius.toFixed(4)}`);
  if (insights && ['sigma', 'denoiser', 'denoiseConvention'].includes(key) && insights.timestep !== null) implied.push(`denoiser timestep t* = ${insights.timestep}`);
  if (insights && ['n', 'alpha', 'tau', 'correction'].includes(key) && insights.minCount !== null) implied.push(`a pixel needs ≥ ${insights.minCount} of n votes to be certified (at ${Math.round(Math.sqrt(insights.assumedPixels))}² pixels)`);
  const value = implied.length ? `${h.markdown}\n\n${implied.map((l) => `→ ${l}`).join('  \n')}` : h.markdown;
  return { contents: { kind: MarkupKind.Markdown, value }, range: h.range };
});

// ---------------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------------

connection.onInitialize(() => ({
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.Incremental,
    hoverProvider: true,
  },
  serverInfo: { name: 'certseg-worker', version: packageVersion() },
}));

connection.onShutdown(() => {
  cancelQueued();
});

documents.listen(connection);
connection.listen();
