import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureActionlint } from '../scripts/setup-actionlint.mjs';
import { ensureAider } from '../scripts/setup-aider.mjs';

/**
 * `npm test` builds the CLI and fetches the model before vitest starts. Running vitest alone on a
 * fresh clone would otherwise fail deep inside a test; say what to run instead.
 * The implement tests drive the real Aider: install the pinned version into .venv/aider when missing.
 * The CI tests lint the example workflow with actionlint: installed with Go into the user cache.
 */
export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  if (!existsSync(path.join(root, 'dist', 'cli.js'))) {
    throw new Error('dist/cli.js is missing: run `npm test` (it builds first) or `npm run build`.');
  }
  ensureAider();
  // The example GitHub workflow is checked with actionlint (a Go tool): reuse or install it.
  ensureActionlint();
}
