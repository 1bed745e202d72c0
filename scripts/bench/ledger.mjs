#!/usr/bin/env node
// `npm run bench:ledger`: runs scripts/bench/ledger.ts as bundled by `npm run build` (dist/bench/ledger.js).
import { existsSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';

const built = fileURLToPath(new URL('../../dist/bench/ledger.js', import.meta.url));
if (!existsSync(built)) {
  process.stderr.write('dist/bench/ledger.js is missing: run `npm run build` first (npm run bench:ledger does).\n');
  process.exit(1);
}
await import(built);
