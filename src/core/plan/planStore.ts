import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { writeFileAtomic } from '../atomicFile.js';
import { acquirePidLock } from '../pidLock.js';
import { ensureStateDir, type Workspace } from '../workspace.js';
import { isPlanFile, parsePlan, planProgress, updatePlanItem, type ItemUpdate, type ParsedPlan } from './planFile.js';

/**
 * Where the plan file lives and how it is read, replaced and updated on disk. Writes are atomic
 * (temp file + rename in the same directory), so an interrupted run never leaves half a plan,
 * and a file the tool did not write is never overwritten.
 */

export interface PlanLocation {
  /** Absolute path. */
  file: string;
  /** Path relative to the repository root, POSIX separators (what users and JSON see). */
  rel: string;
}

/** Resolves config `plan.file` against the repository root; it must stay inside the repository. */
export function planLocation(ws: Workspace, config: Pick<Config, 'plan'>): PlanLocation {
  const file = path.resolve(ws.root, config.plan.file);
  const rel = path.relative(ws.root, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new AppError(
      'bad_config',
      `Config plan.file "${config.plan.file}" is outside the repository ${ws.root}.`,
      'Set plan.file to a path inside the repository, e.g. "TODO.md".',
    );
  }
  return { file, rel: rel.split(path.sep).join('/') };
}

export interface LoadedPlan extends ParsedPlan {
  location: PlanLocation;
  /** The file's exact text, for in-place updates. */
  text: string;
}

/** Reads and parses the plan file: `plan_missing` (exit 2) if absent, `plan_foreign` if not ours. */
export function loadPlan(location: PlanLocation): LoadedPlan {
  let text: string;
  try {
    text = readFileSync(location.file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new AppError(
      'plan_missing',
      `No plan yet: ${location.rel} does not exist.`,
      'Write one with `ai-dev-bot plan "<goal>"`.',
    );
  }
  return { ...parsePlan(text, location.rel), location, text };
}

/** Whether `plan <goal>` may write to the location, checked before any credits are spent. */
export type PlanTarget = { kind: 'absent' } | { kind: 'empty' } | { kind: 'plan'; text: string };

export function checkPlanTarget(location: PlanLocation, options: { replace: boolean }): PlanTarget {
  if (!existsSync(location.file)) return { kind: 'absent' };
  if (!statSync(location.file).isFile()) {
    throw new AppError('plan_foreign', `${location.rel} exists and is not a file.`, 'Set plan.file to another path.');
  }
  const text = readFileSync(location.file, 'utf8');
  // An empty file holds nothing to lose (e.g. `touch TODO.md`); anything else must be ours.
  if (text.trim() === '') return { kind: 'empty' };
  if (!isPlanFile(text)) {
    throw new AppError(
      'plan_foreign',
      `${location.rel} exists and was not written by ai-dev-bot; it was left untouched.`,
      `Move or rename ${location.rel}, or set plan.file in ai-dev-bot.config.json to another path (e.g. "PLAN.md").`,
    );
  }
  if (!options.replace) {
    let summary = '';
    try {
      const progress = planProgress(parsePlan(text, location.rel).plan);
      summary = ` (${progress.done}/${progress.total} items done)`;
    } catch {
      // the marker check above passed, so parsing cannot refuse; keep the message plain anyway
    }
    throw new AppError(
      'bad_argument',
      `${location.rel} already holds a plan${summary}; it was left untouched.`,
      `Pass --replace to archive it under .ai-dev-bot/plans/ and write the new plan, or see it with \`ai-dev-bot plan show\`.`,
    );
  }
  return { kind: 'plan', text };
}

/** How long `plan` or `implement` waits for the other to let go of the plan file before exit 2. */
export const PLAN_LOCK_WAIT_MS = 5000;

/**
 * One lock per repository for every command that writes the plan file (`plan`, `implement`):
 * `plan --replace` during `implement` would otherwise be undone by it ("Aider edited TODO.md").
 * Taken before any LLM call, so a command that cannot write never spends credits. A lock left by a
 * killed process is taken over at once (pid check). Returns the release function.
 */
export async function lockPlanFile(
  ws: Workspace,
  location: PlanLocation,
  command: string,
  waitMs: number = PLAN_LOCK_WAIT_MS,
): Promise<() => void> {
  ensureStateDir(ws);
  const got = await acquirePidLock(path.join(ws.stateDir, 'plan.lock'), command, waitMs);
  if ('release' in got) return got.release;
  throw new AppError(
    'bad_argument',
    `Another ai-dev-bot ${got.holder.what || 'command'} (pid ${got.holder.pid}) is working on ${location.rel} in this repository; \`${command}\` waited ${Math.round(waitMs / 1000)} s and did not start (nothing was charged).`,
    `Let it finish (Ctrl-C stops it and restores the tree), then run \`ai-dev-bot ${command}\` again.`,
  );
}

function timestamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Copies the current plan to `.ai-dev-bot/plans/<UTC timestamp>-<name>`; returns the archive path. */
export function archivePlan(ws: Workspace, location: PlanLocation, now: Date = new Date()): string {
  mkdirSync(ws.plansDir, { recursive: true });
  const base = `${timestamp(now)}-${path.basename(location.file)}`;
  let target = path.join(ws.plansDir, base);
  for (let n = 2; existsSync(target); n++) target = path.join(ws.plansDir, base.replace(/(\.[^.]*)?$/, `-${n}$1`));
  copyFileSync(location.file, target);
  return target;
}

/**
 * Writes a new plan. The target is checked again here (the LLM call took a while and the user may
 * have created or edited the file meanwhile); with `replace` the current plan is archived first.
 */
export function writePlan(
  ws: Workspace,
  location: PlanLocation,
  content: string,
  options: { replace: boolean; now?: Date },
): { archivedTo: string | undefined } {
  const target = checkPlanTarget(location, options);
  const archivedTo = target.kind === 'plan' ? archivePlan(ws, location, options.now) : undefined;
  writeFileAtomic(location.file, content);
  return { archivedTo };
}

/**
 * Updates one item in the plan file on disk (status mark and/or Feedback), preserving every other
 * byte; for `implement`/`verify`. Returns the re-parsed plan.
 */
export function updatePlanItemOnDisk(location: PlanLocation, id: string, update: ItemUpdate): LoadedPlan {
  const current = loadPlan(location);
  const text = updatePlanItem(current.text, id, update, location.rel);
  if (text !== current.text) writeFileAtomic(location.file, text);
  return { ...parsePlan(text, location.rel), location, text };
}
