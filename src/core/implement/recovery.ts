import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.js';
import { processAlive } from '../processAlive.js';
import { killProcessGroup } from '../processGroup.js';
import type { Reporter } from '../reporter.js';
import { readSnapshot, type WorkTree } from './gitTree.js';
import type { RunsStore, WorkRow } from './runsStore.js';

export interface RecoveredWork {
  itemId: string;
  startedAt: string;
  restoredFiles: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A run killed hard (kill -9, power loss) leaves its work row `running` and maybe an orphaned Aider.
 * Before new work: stop that Aider, put the tree back from the saved snapshot, and say so.
 * Another live run in the same repository → exit 2 rather than two runs editing one tree.
 */
export async function recoverInterruptedWork(
  tree: WorkTree,
  runs: RunsStore,
  reporter: Reporter,
  /** `.ai-dev-bot/aider`: per-run key files and allow-lists that a killed run left behind. */
  aiderStateDir?: string,
): Promise<RecoveredWork[]> {
  const active = runs.activeWork();
  if (active.length > 0) {
    const w = active[0]!;
    throw new AppError(
      'bad_argument',
      `Another ai-dev-bot run (pid ${w.pid}) is working on ${w.itemId} in this repository.`,
      'Wait for it to finish, or stop it (Ctrl-C restores its tree).',
    );
  }
  // No other run is live, so every per-run file there belongs to a dead run: the `.env` ones hold
  // API keys in plain text (0600), and nothing but a live Aider needs them.
  if (aiderStateDir) removePerRunFiles(aiderStateDir);
  const recovered: RecoveredWork[] = [];
  for (const work of runs.abandonedWork()) recovered.push(await recoverOne(tree, runs, work, reporter));
  return recovered;
}

function removePerRunFiles(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (/\.(?:env|aiderignore)$/.test(name)) rmSync(path.join(dir, name), { force: true });
}

async function recoverOne(tree: WorkTree, runs: RunsStore, work: WorkRow, reporter: Reporter): Promise<RecoveredWork> {
  if (work.aiderPid !== null && processAlive(work.aiderPid, { group: true })) {
    killProcessGroup(work.aiderPid, 'SIGKILL');
    for (let i = 0; i < 50 && processAlive(work.aiderPid, { group: true }); i++) await sleep(100);
  }
  if (!existsSync(work.snapshotDir)) {
    runs.finishWork(work.id, 'failed', 'interrupted; snapshot missing');
    reporter.warn(
      `An interrupted attempt at ${work.itemId} (${work.startedAt}) left no snapshot; check \`git status\`.`,
    );
    return { itemId: work.itemId, startedAt: work.startedAt, restoredFiles: [] };
  }
  const snapshot = readSnapshot(work.snapshotDir);
  // Killed between the commit and the bookkeeping: the work is done, not to be undone.
  if ((await tree.head()) !== snapshot.head && (await tree.headSubject()).startsWith(`ai-dev-bot: ${work.itemId} `)) {
    runs.finishWork(work.id, 'approved', 'committed; the run was killed before it finished', await tree.head());
    rmSync(work.snapshotDir, { recursive: true, force: true });
    reporter.info(`An interrupted run had already committed ${work.itemId}; nothing to restore.`);
    return { itemId: work.itemId, startedAt: work.startedAt, restoredFiles: [] };
  }
  let restoredFiles: string[];
  try {
    restoredFiles = await tree.restore(snapshot, work.snapshotDir);
  } catch (error) {
    runs.finishWork(work.id, 'failed', `interrupted; restore failed: ${(error as Error).message}`);
    throw new AppError(
      'dirty_tree',
      `An interrupted attempt at ${work.itemId} (started ${work.startedAt}) could not be undone: ${(error as Error).message}`,
      `Check \`git status\`; copies of your uncommitted files from before the attempt are in ${work.snapshotDir}.`,
    );
  }
  runs.finishWork(work.id, 'restored', 'interrupted; restored by a later run');
  rmSync(work.snapshotDir, { recursive: true, force: true });
  reporter.info(
    `Found an interrupted attempt at ${work.itemId} (started ${work.startedAt}, process ${work.pid} is gone): ` +
      `restored the working tree (${restoredFiles.length} file${restoredFiles.length === 1 ? '' : 's'} put back).`,
  );
  return { itemId: work.itemId, startedAt: work.startedAt, restoredFiles };
}
