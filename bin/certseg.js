#!/usr/bin/env node
// Thin launcher for the bundled CLI (npm run build produces dist/server/cli.js).
require('../dist/server/cli.js');
