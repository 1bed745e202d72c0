#!/usr/bin/env node
// `npm run setup-actionlint`: makes actionlint (the GitHub Actions workflow linter, a Go module)
// available for the test that checks examples/github-actions/ai-dev-bot.yml. Reuses an actionlint
// on PATH or in Go's bin dir; otherwise `go install`s the pinned version with GOBIN in the user
// cache (~/.cache/ai-dev-bot/tools/bin), once. Without Go it fails and says what to install.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ACTIONLINT_MODULE = 'github.com/rhysd/actionlint/cmd/actionlint@v1.7.12';

const cacheBin = () =>
  path.join(
    process.env.XDG_CACHE_HOME && path.isAbsolute(process.env.XDG_CACHE_HOME)
      ? process.env.XDG_CACHE_HOME
      : path.join(os.homedir(), '.cache'),
    'ai-dev-bot',
    'tools',
    'bin',
  );

const runs = (bin) => spawnSync(bin, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;

function goBinDir() {
  const res = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return res.status === 0 && res.stdout.trim()
    ? path.join(res.stdout.trim().split(path.delimiter)[0], 'bin')
    : undefined;
}

/** The path of a working actionlint, or undefined. */
export function findActionlint() {
  const candidates = [process.env.ACTIONLINT_BIN, path.join(cacheBin(), 'actionlint')];
  const goBin = goBinDir();
  if (goBin) candidates.push(path.join(goBin, 'actionlint'));
  candidates.push('/root/go/bin/actionlint');
  for (const dir of (process.env.PATH ?? '').split(path.delimiter))
    if (dir) candidates.push(path.join(dir, 'actionlint'));
  return candidates.find((bin) => bin && existsSync(bin) && runs(bin));
}

/** Finds actionlint or installs it; throws with the fix when that is impossible. */
export function ensureActionlint() {
  const found = findActionlint();
  if (found) return found;
  const go = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (go.status !== 0)
    throw new Error(
      'actionlint is needed to check the example workflow, and Go is not installed to build it.\n' +
        `Install Go (https://go.dev/dl/), or install actionlint yourself (https://github.com/rhysd/actionlint) and put it on PATH or in ACTIONLINT_BIN.`,
    );
  const gobin = cacheBin();
  mkdirSync(gobin, { recursive: true });
  process.stderr.write(`Installing actionlint (${ACTIONLINT_MODULE}) into ${gobin}…\n`);
  const res = spawnSync('go', ['install', ACTIONLINT_MODULE], {
    env: { ...process.env, GOBIN: gobin },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 600_000,
  });
  const bin = path.join(gobin, 'actionlint');
  if (res.status !== 0 || !runs(bin)) throw new Error(`go install ${ACTIONLINT_MODULE} failed (exit ${res.status}).`);
  return bin;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(ensureActionlint());
}
