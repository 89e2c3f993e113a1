#!/usr/bin/env node
// The `moss` command: runs the compiled CLI (built by `npm ci` / `npm run build`).
import '../dist/src/cli/main.js';
