/**
 * Editor support for `*.certseg.json`: semantic diagnostics (config/diagnostics.ts; structure is the JSON
 * Schema's, applied by the editor) and hovers (the schema's description of the key, and what the config's
 * values imply: the certified radius, the denoiser timestep, the votes a pixel needs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Diagnostic, type Hover, MarkupKind, type Position, type RemoteConsole } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { analyzeConfig, configDiagnostics } from '../config/diagnostics';
import { pathDiagnostic, schemaHover } from './jsonLocate';
import { packagePath } from '../paths';

export const isConfigDoc = (uri: string): boolean => uri.endsWith('.certseg.json');

export class ConfigFeatures {
  /** the config JSON Schema, loaded on the first hover (null: not found) */
  private schema: Record<string, unknown> | null | undefined;

  /** @param isCurrent whether `doc` is still the open version (a stale check's result is dropped) */
  constructor(
    private readonly log: RemoteConsole,
    private readonly isCurrent: (doc: TextDocument) => boolean,
  ) {}

  /** The document's diagnostics, or undefined when it changed while they were computed. */
  async diagnostics(doc: TextDocument): Promise<Diagnostic[] | undefined> {
    let path = doc.uri;
    try {
      path = fileURLToPath(doc.uri);
    } catch {
      /* not a file: URI */
    }
    try {
      const found = await configDiagnostics(doc.getText(), path);
      if (!this.isCurrent(doc)) return undefined; // stale
      return found.map((d) => pathDiagnostic(doc, d));
    } catch (e) {
      this.log.error(`config diagnostics failed for ${path}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return [];
    }
  }

  async hover(doc: TextDocument, position: Position): Promise<Hover | null> {
    const s = this.loadSchema();
    if (!s) return null;
    const h = schemaHover(doc, position, s);
    if (!h) return null;
    const key = /^\*\*(\w+)\*\*/.exec(h.markdown)?.[1] ?? '';
    const { insights } = await analyzeConfig(doc.getText(), fileURLToPath(doc.uri)).catch(() => ({ insights: null }));
    const implied: string[] = [];
    if (insights && ['sigma', 'tau'].includes(key) && insights.radius !== null)
      implied.push(`certified radius σ·Φ⁻¹(τ) = ${insights.radius.toFixed(4)}`);
    if (insights && ['sigma', 'denoiser', 'denoiseConvention'].includes(key) && insights.timestep !== null)
      implied.push(`denoiser timestep t* = ${insights.timestep}`);
    if (insights && ['n', 'alpha', 'tau', 'correction'].includes(key) && insights.minCount !== null)
      implied.push(
        `a pixel needs ≥ ${insights.minCount} of n votes to be certified (at ${Math.round(Math.sqrt(insights.assumedPixels))}² pixels)`,
      );
    const value = implied.length ? `${h.markdown}\n\n${implied.map((l) => `→ ${l}`).join('  \n')}` : h.markdown;
    return { contents: { kind: MarkupKind.Markdown, value }, range: h.range };
  }

  private loadSchema(): Record<string, unknown> | null {
    if (this.schema !== undefined) return this.schema;
    const p = packagePath('server/schemas/config.schema.json');
    try {
      return (this.schema = existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : null);
    } catch {
      return (this.schema = null);
    }
  }
}
