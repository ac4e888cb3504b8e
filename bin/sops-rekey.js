#!/usr/bin/env node
// The compiled package (dist/, built by `npm run build`, which `npm ci` and `npm pack` run):
// Node does not strip types from files under node_modules, where an installed sops-rekey lives.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
