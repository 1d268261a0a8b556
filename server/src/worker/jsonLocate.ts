/** JSON positions for *.certseg.json and *.card.json: JSON pointer → range (diagnostics), position → schema hover. */
import { findNodeAtLocation, getLocation, parseTree, type Node } from 'jsonc-parser/lib/esm/main.js'; // the ESM build: the UMD one does not bundle
import { type Diagnostic, DiagnosticSeverity, type Position, type Range } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';

function nodeRange(doc: TextDocument, n: Node): Range {
  return { start: doc.positionAt(n.offset), end: doc.positionAt(n.offset + n.length) };
}

/** A problem found at a JSON path of the document (config and card checks report these). */
export interface PathProblem {
  message: string;
  severity: 'error' | 'warning' | 'info';
  /** JSON path (empty = the whole document) */
  path: (string | number)[];
}

/** A problem as an editor diagnostic, underlining its path (jsonPointerRange). */
export function pathDiagnostic(doc: TextDocument, d: PathProblem): Diagnostic {
  return {
    range: jsonPointerRange(doc, d.path),
    message: d.message,
    source: 'certseg',
    severity:
      d.severity === 'error'
        ? DiagnosticSeverity.Error
        : d.severity === 'warning'
          ? DiagnosticSeverity.Warning
          : DiagnosticSeverity.Information,
  };
}

/**
 * The range a diagnostic at `path` should underline: the property's key when the path names a property
 * (so "unknown key" and "bad value" both point at the key line), the value for array items, the closest
 * existing ancestor when the path does not exist (e.g. a missing required key → the enclosing object's
 * first line), the first character for an unparsable document.
 */
export function jsonPointerRange(doc: TextDocument, path: (string | number)[]): Range {
  const root = parseTree(doc.getText());
  if (!root) return { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } };
  for (let len = path.length; len >= 0; len--) {
    const node = findNodeAtLocation(root, path.slice(0, len));
    if (!node) continue;
    const prop = node.parent?.type === 'property' ? node.parent : undefined;
    if (prop && prop.children?.[0] && len === path.length) {
      const key = prop.children[0];
      return { start: doc.positionAt(key.offset), end: doc.positionAt(node.offset + node.length) };
    }
    if (prop?.children?.[0]) return nodeRange(doc, prop.children[0]);
    if (node.type === 'object' || node.type === 'array') {
      const start = doc.positionAt(node.offset);
      return { start, end: { line: start.line, character: start.character + 1 } };
    }
    return nodeRange(doc, node);
  }
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } };
}

interface SchemaProp {
  description?: string;
  markdownDescription?: string;
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** Hover for a top-level key of the config (its schema description, type, range, default). */
export function schemaHover(doc: TextDocument, pos: Position, schema: Record<string, unknown>): { markdown: string; range?: Range } | null {
  const text = doc.getText();
  const offset = doc.offsetAt(pos);
  const loc = getLocation(text, offset);
  if (loc.path.length !== 1 || typeof loc.path[0] !== 'string') return null;
  const key = loc.path[0];
  const props = (schema.properties ?? {}) as Record<string, SchemaProp>;
  const prop = props[key];
  if (!prop) return null;
  // The description itself is the JSON language service's hover (the schema is contributed through
  // jsonValidation): shown once. This hover adds the facts and what the value implies.
  const lines = [`**${key}**`];
  const facts: string[] = [];
  if (prop.type) facts.push(`type: \`${Array.isArray(prop.type) ? prop.type.join(' | ') : prop.type}\``);
  if (prop.enum) facts.push(`one of: ${prop.enum.map((e) => `\`${JSON.stringify(e)}\``).join(', ')}`);
  const lo = prop.exclusiveMinimum !== undefined ? `> ${prop.exclusiveMinimum}` : prop.minimum !== undefined ? `≥ ${prop.minimum}` : null;
  const hi = prop.exclusiveMaximum !== undefined ? `< ${prop.exclusiveMaximum}` : prop.maximum !== undefined ? `≤ ${prop.maximum}` : null;
  if (lo || hi) facts.push(`range: ${[lo, hi].filter(Boolean).join(', ')}`);
  if (prop.default !== undefined) facts.push(`default: \`${JSON.stringify(prop.default)}\``);
  if (facts.length) lines.push('', facts.join(' · '));
  const root = parseTree(text);
  const node = root ? findNodeAtLocation(root, [key]) : undefined;
  const keyNode = node?.parent?.children?.[0];
  return { markdown: lines.join('\n'), range: keyNode ? nodeRange(doc, keyNode) : undefined };
}

/** The top-level key whose property holds `pos` (on its key or anywhere in its value), and the key's range. */
export function topLevelKeyAt(doc: TextDocument, pos: Position): { key: string; range?: Range } | null {
  const text = doc.getText();
  const loc = getLocation(text, doc.offsetAt(pos));
  const key = loc.path[0];
  if (typeof key !== 'string') return null;
  const root = parseTree(text);
  const keyNode = root ? findNodeAtLocation(root, [key])?.parent?.children?.[0] : undefined;
  return { key, range: keyNode ? nodeRange(doc, keyNode) : undefined };
}
