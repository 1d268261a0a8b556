// Lint for the TypeScript sources (npm run lint, run by .ci/run): typescript-eslint's recommended rules.
// Formatting is not linted here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'models/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // published constants (Lanczos, log √2π) are quoted with all their digits, more than a double holds
    files: ['common/stats.ts'],
    rules: { 'no-loss-of-precision': 'off' },
  },
  {
    // the LSP convention for messages (namespace XRequest { export const type = ... }), as vscode-languageserver-protocol
    files: ['protocol/messages.ts'],
    rules: { '@typescript-eslint/no-namespace': 'off' },
  },
  {
    // tests patch model cards and reports as free-form JSON
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    rules: {
      // `_name` marks a value kept for its position or a destructured field left out on purpose
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
);
