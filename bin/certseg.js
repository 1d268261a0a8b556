#!/usr/bin/env node
// The `certseg` command (npx certseg, a global or linked install): runs the bundled CLI.
// dist/server/cli.js only runs by itself when it is the main module, so its entry point is called here.
'use strict';
const path = require('node:path');
const cliPath = path.join(__dirname, '..', 'dist', 'server', 'cli.js');
let cli;
try {
  cli = require(cliPath);
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(cliPath)) {
    process.stderr.write(`certseg: not built yet (${path.relative(process.cwd(), cliPath) || cliPath} is missing); run \`npm run build\` in ${path.dirname(__dirname)}\n`);
    process.exit(1);
  }
  throw e;
}
cli.run();
