/**
 * Editor support for `*.card.json`: the `certseg card check` of the buffer as diagnostics at the card's
 * fields, and hovers fed by each card's last check (cardDocs.ts). Checks run one at a time: a check loads
 * the card's models.
 */
import { fileURLToPath } from 'node:url';
import { type Diagnostic, type Hover, MarkupKind, type Position, type RemoteConsole } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { CardCheckResult } from '../models/cardCheck';
import { cardDiagnostics, cardHover } from './cardDocs';
import { pathDiagnostic, topLevelKeyAt } from './jsonLocate';

export const isCardDoc = (uri: string): boolean => uri.endsWith('.card.json');

export class CardFeatures {
  /** the last check of each open card (null: the check could not run), for hovers */
  private readonly checks = new Map<string, CardCheckResult | null>();
  private chain: Promise<unknown> = Promise.resolve();

  /** @param isCurrent whether `doc` is still the open version (a superseded check is skipped, a stale result dropped) */
  constructor(
    private readonly log: RemoteConsole,
    private readonly isCurrent: (doc: TextDocument) => boolean,
  ) {}

  /** The card's diagnostics after the checks queued before it, or undefined when it changed meanwhile. */
  diagnostics(doc: TextDocument): Promise<Diagnostic[] | undefined> {
    const next = this.chain.then(() => this.check(doc));
    this.chain = next;
    return next;
  }

  private async check(doc: TextDocument): Promise<Diagnostic[] | undefined> {
    if (!this.isCurrent(doc)) return undefined; // superseded while waiting
    try {
      const { diagnostics: found, check } = await cardDiagnostics(doc.getText(), fileURLToPath(doc.uri));
      if (!this.isCurrent(doc)) return undefined; // stale
      this.checks.set(doc.uri, check);
      return found.map((d) => pathDiagnostic(doc, d));
    } catch (e) {
      this.log.error(`card check failed for ${doc.uri}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return [];
    }
  }

  hover(doc: TextDocument, position: Position): Hover | null {
    const at = topLevelKeyAt(doc, position);
    const value = at ? cardHover(at.key, this.checks.get(doc.uri) ?? null) : null;
    return value ? { contents: { kind: MarkupKind.Markdown, value }, range: at!.range } : null;
  }

  forget(uri: string): void {
    this.checks.delete(uri);
  }
}
