/**
 * *.card.json in the editor, through the REAL worker over JSON-RPC: the `certseg card check` of the buffer
 * as diagnostics at the card field each problem is about (structure stays the JSON Schema's: one source per
 * problem), and hovers with what the model declares and what its clean pass gave. The shipped polyp card.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  HoverRequest,
  PublishDiagnosticsNotification,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { ROOT, startWorker, type Worker } from './harness';

let w: Worker;
const tmp = mkdtempSync(join(tmpdir(), 'certseg-carddocs-'));
before(async () => {
  w = await startWorker();
});
after(async () => {
  if (w) await w.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The polyp segmenter card with absolute model paths, `patch` applied, as the editor would hold it. */
function polyp(patch: (c: Record<string, any>) => void = () => {}): string {
  const c = JSON.parse(readFileSync(join(ROOT, 'models/polyp/segmenter.card.json'), 'utf8')) as Record<string, any>;
  c.file = join(ROOT, 'models/polyp', c.file);
  c.alternates = { tfjs: join(ROOT, 'models/polyp', c.alternates.tfjs) };
  patch(c);
  return JSON.stringify(c, null, 2) + '\n';
}

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle));

const outputChannelsLine = (text: string) => text.split('\n').findIndex((l, i) => i > lineOf(text, '"output"') && l.includes('"channels"'));

let version = 0;
function diagnosticsFor(uri: string): Promise<PublishDiagnosticsParams> {
  return new Promise((resolve) => {
    const d = w.conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
      if (p.uri === uri) {
        d.dispose();
        resolve(p);
      }
    });
  });
}
async function open(name: string, text: string): Promise<{ uri: string; diagnostics: PublishDiagnosticsParams['diagnostics'] }> {
  const uri = pathToFileURL(join(tmp, name)).href;
  const p = diagnosticsFor(uri);
  await w.conn.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'json', version: ++version, text },
  });
  return { uri, diagnostics: (await p).diagnostics };
}
const close = (uri: string) => w.conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
async function hover(uri: string, line: number): Promise<string | null> {
  const h = await w.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character: 5 } });
  return h ? (h.contents as { value: string }).value : null;
}

test(
  "a valid card: no diagnostics; hovers show the model's tensors, the class histogram and the time per pass",
  { timeout: 120_000 },
  async () => {
    const text = polyp();
    const { uri, diagnostics } = await open('polyp.card.json', text);
    assert.deepEqual(diagnostics, []);
    const input = await hover(uri, lineOf(text, '"input"'));
    assert.match(input!, /\*\*input\*\* — checked against the model \(clean pass on a generated test pattern \(256×256\)\)/);
    assert.match(input!, /\*\*onnx\*\* \(cpu\): `image` float32 \[\?,3,\?,\?\] · fed \[1,3,256,256\]/);
    assert.match(input!, /\*\*tfjs\*\*/);
    assert.match((await hover(uri, lineOf(text, '"output"')))!, /returned \[1,2,256,256\]/);
    assert.match((await hover(uri, lineOf(text, '"classes"') + 2))!, /background [\d.]+%, polyp [\d.]+%/, 'inside the classes array too');
    assert.match((await hover(uri, lineOf(text, '"file"')))!, /segmenter\.onnx, [\d.]+ ms per forward pass/);
    assert.equal(await hover(uri, lineOf(text, '"license"')), null, 'nothing to add: the schema description is the JSON hover');
    await close(uri);
  },
);

test(
  'problems that need the model are diagnostics at their field; structure is left to the JSON Schema',
  { timeout: 120_000 },
  async () => {
    // a key the schema does not know: VS Code's JSON support reports it (jsonValidation), not the worker
    let t = polyp((c) => (c.colour = 'red'));
    let r = await open('schema.card.json', t);
    assert.deepEqual(r.diagnostics, []);
    await close(r.uri);

    // a tensor name the model does not have: at input.name
    t = polyp((c) => (c.input.name = 'pixels'));
    r = await open('name.card.json', t);
    assert.equal(r.diagnostics.length, 1, JSON.stringify(r.diagnostics));
    assert.match(String(r.diagnostics[0].message), /the model has no input named "pixels" \(it has image\)/);
    assert.equal(r.diagnostics[0].range.start.line, lineOf(t, '"pixels"'));
    // fixed while open: the diagnostic goes away
    const fixed = polyp();
    const cleared = diagnosticsFor(r.uri);
    await w.conn.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri: r.uri, version: ++version },
      contentChanges: [{ text: fixed }],
    });
    assert.deepEqual((await cleared).diagnostics, []);
    await close(r.uri);

    // a class count the output does not have: the model's output channels are dynamic, only the clean pass sees it
    t = polyp((c) => {
      c.output.channels = 3;
      c.classes.push({ name: 'extra', color: '#00ff00' });
    });
    r = await open('classes.card.json', t);
    assert.equal(r.diagnostics.length, 1, JSON.stringify(r.diagnostics));
    assert.match(String(r.diagnostics[0].message), /segmenter output has 2 channels .* the card says 3/);
    assert.equal(r.diagnostics[0].range.start.line, outputChannelsLine(t));
    await close(r.uri);

    // what the schema cannot say: sigmoid with two channels, at output.channels
    t = polyp((c) => (c.output.kind = 'sigmoid'));
    r = await open('sigmoid.card.json', t);
    assert.match(String(r.diagnostics[0].message), /output\.kind sigmoid needs output\.channels 1 and 2 classes/);
    assert.equal(r.diagnostics[0].range.start.line, outputChannelsLine(t));
    await close(r.uri);

    // the model file is missing: at file
    t = polyp((c) => (c.file = join(tmp, 'gone.onnx')));
    r = await open('file.card.json', t);
    assert.match(String(r.diagnostics[0].message), /model file not found/);
    assert.equal(r.diagnostics[0].range.start.line, lineOf(t, '"file"'));
    await close(r.uri);
  },
);
