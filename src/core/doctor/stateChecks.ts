import { execa } from 'execa';
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { indexFreshness } from '../index/freshness.js';
import { AIDER_PINNED_VERSION, locateAider, type LocateAiderOptions } from '../implement/aiderLocator.js';
import { Ledger } from '../ledger/ledger.js';
import { formatCredits } from '../ledger/money.js';
import { openUserLedger } from '../ledger/open.js';
import { userDataDir, type Workspace } from '../workspace.js';
import { AppError } from '../errors.js';
import { failed, messageOf, ok, warning, type DoctorCheck } from './doctorCheck.js';

export async function aiderCheck(options: LocateAiderOptions): Promise<DoctorCheck> {
  try {
    const aider = await locateAider(options);
    const tested = aider.version.startsWith(AIDER_PINNED_VERSION.split('.').slice(0, 2).join('.') + '.');
    const detail = `Aider ${aider.version} at ${aider.bin} (${aider.source})`;
    return tested
      ? ok('aider', detail)
      : warning(
          'aider',
          `${detail}: untested (tested with ${AIDER_PINNED_VERSION})`,
          `pipx install aider-chat==${AIDER_PINNED_VERSION}`,
        );
  } catch (error) {
    const hint = error instanceof AppError && error.hint ? error.hint : '';
    // Only `implement` needs Aider; index, search, ask and plan work without it.
    return warning('aider', `${messageOf(error)} (only \`implement\` needs it)`, hint);
  }
}

/** The ledger's balance; a missing ledger is normal before the first metered command. */
export async function ledgerCheck(config: Config, env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const file = Ledger.fileIn(userDataDir(env));
  if (!existsSync(file))
    return ok(
      'ledger',
      `no ledger yet at ${file}; the first metered command creates it with ${config.ledger.initialGrant} credits`,
    );
  try {
    const ledger = await openUserLedger(config, env);
    try {
      return ok('ledger', `${file}: balance ${formatCredits(ledger.balanceMilli())} credits`);
    } finally {
      ledger.close();
    }
  } catch (error) {
    return failed(
      'ledger',
      `${file} cannot be read: ${messageOf(error)}`,
      'Restore it from a backup, or move it aside to start a new ledger (its history is then lost).',
    );
  }
}

/** Git on PATH, the repository, and its work tree state (implement wants a clean tree). */
export async function gitCheck(ws: Workspace | undefined, cwd: string): Promise<DoctorCheck> {
  let version: string;
  try {
    version = (await execa('git', ['--version'])).stdout.trim();
  } catch (error) {
    return failed('git', `git is not usable: ${messageOf(error)}`, 'Install git (e.g. apt-get install git).');
  }
  if (!ws)
    return warning(
      'git',
      `${version}; ${cwd} is not inside a git repository`,
      'Run ai-dev-bot inside a git work tree (or `git init`).',
    );
  try {
    const status = await execa('git', ['status', '--porcelain=v1', '--branch'], { cwd: ws.root });
    const lines = status.stdout.split('\n').filter(Boolean);
    const branch = lines[0]?.replace(/^## /, '') ?? '?';
    const changed = lines.length - 1;
    return ok(
      'git',
      `${version}; repository ${ws.root} on ${branch}, ${changed === 0 ? 'clean' : `${changed} changed files`}`,
    );
  } catch (error) {
    return failed('git', `git status failed in ${ws.root}: ${messageOf(error)}`, 'Check the repository (git status).');
  }
}

export async function indexCheck(ws: Workspace | undefined, config: Config): Promise<DoctorCheck> {
  if (!ws) return warning('index', 'no repository, no index', 'Run inside a git repository, then `ai-dev-bot index`.');
  try {
    const freshness = await indexFreshness(ws, config);
    if (!freshness) return warning('index', 'no index yet', 'Run `ai-dev-bot index`.');
    const detail = `${freshness.files} files, ${freshness.chunks} chunks, indexed ${freshness.indexedAt ?? 'at an unknown time'}`;
    return freshness.stale === 0
      ? ok('index', `${detail}; up to date`)
      : warning('index', `${detail}; ${freshness.stale} files changed since`, 'Run `ai-dev-bot index`.');
  } catch (error) {
    return failed(
      'index',
      `the index cannot be read: ${messageOf(error)}`,
      'Rebuild it with `ai-dev-bot index --full`.',
    );
  }
}
