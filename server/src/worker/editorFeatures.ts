/**
 * Editor support in the worker: diagnostics and hovers for the open `*.certseg.json` (configFeatures.ts)
 * and `*.card.json` (cardFeatures.ts) documents. A change is checked after a pause in typing (200 ms for a
 * config, 400 ms for a card: a card check loads its models); closing a document clears its diagnostics.
 */
import type { Connection, Diagnostic, Hover, HoverParams, TextDocuments } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { CardFeatures, isCardDoc } from './cardFeatures';
import { ConfigFeatures, isConfigDoc } from './configFeatures';

export class EditorFeatures {
  private readonly configs: ConfigFeatures;
  private readonly cards: CardFeatures;
  /** the check waiting for a pause in typing, per document */
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
  ) {
    const isCurrent = (doc: TextDocument) => documents.get(doc.uri)?.version === doc.version;
    this.configs = new ConfigFeatures(connection.console, isCurrent);
    this.cards = new CardFeatures(connection.console, isCurrent);
  }

  changed(doc: TextDocument): void {
    if (isCardDoc(doc.uri) && doc.uri.startsWith('file:')) this.later(doc, 400, () => this.cards.diagnostics(doc));
    else if (isConfigDoc(doc.uri)) this.later(doc, 200, () => this.configs.diagnostics(doc));
  }

  closed(doc: TextDocument): void {
    clearTimeout(this.pending.get(doc.uri));
    this.pending.delete(doc.uri);
    this.cards.forget(doc.uri);
    void this.connection.sendDiagnostics({ uri: doc.uri, diagnostics: [] });
  }

  async hover(params: HoverParams): Promise<Hover | null> {
    const doc = this.documents.get(params.textDocument.uri);
    if (doc && isCardDoc(doc.uri)) return this.cards.hover(doc, params.position);
    if (!doc || !isConfigDoc(doc.uri)) return null;
    return this.configs.hover(doc, params.position);
  }

  /** Checks `doc` after `ms` without a newer change, and publishes the diagnostics unless they are stale. */
  private later(doc: TextDocument, ms: number, check: () => Promise<Diagnostic[] | undefined>): void {
    clearTimeout(this.pending.get(doc.uri));
    this.pending.set(
      doc.uri,
      setTimeout(() => {
        this.pending.delete(doc.uri);
        void check().then((diagnostics) => {
          if (diagnostics) void this.connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
        });
      }, ms),
    );
  }
}
