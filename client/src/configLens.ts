/** The code lenses of *.certseg.json files: "Certify with this config" and "Use for runs" / "Active config". */
import * as vscode from 'vscode';
import { activeConfig } from './settings';

export class ConfigLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  /** "Use for runs" → "Active config" right after the choice */
  readonly onDidChangeCodeLenses = this.emitter.event;

  constructor(private readonly context: vscode.ExtensionContext) {}

  /** The active config changed: the lenses say so. */
  changed(): void {
    this.emitter.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: '$(play) Certify with this config', command: 'certseg.certifyWithConfig', arguments: [doc.uri] }),
      new vscode.CodeLens(top, {
        title: activeConfig(this.context) === doc.uri.fsPath ? '$(check) Active config' : 'Use for runs',
        command: 'certseg.selectConfig',
        arguments: [doc.uri],
      }),
    ];
  }

  /** Registers the provider; the registration and the event emitter go with the returned disposable. */
  register(): vscode.Disposable {
    const registration = vscode.languages.registerCodeLensProvider({ pattern: '**/*.certseg.json' }, this);
    return vscode.Disposable.from(registration, this);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
