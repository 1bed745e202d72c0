import { AppError } from '../errors.js';
import type { PlanItem } from '../plan/planFile.js';
import type { Workspace } from '../workspace.js';
import type { WorkTree } from './gitTree.js';
import { editableFiles } from './itemFiles.js';

/**
 * The working tree must be clean before Aider edits it (the plan file aside: it is ours and is
 * committed with the first approved item). `--allow-dirty` accepts changes in files the item does
 * not touch; those are left out of commits and restored as they were.
 */
export async function assertTreeReady(
  ws: Workspace,
  tree: WorkTree,
  planRel: string,
  item: PlanItem,
  allowDirty: boolean,
): Promise<void> {
  const dirty = (await tree.status()).map((e) => e.path).filter((p) => p !== planRel);
  if (dirty.length === 0) return;
  const shown = (paths: string[]) =>
    paths.slice(0, 10).join(', ') + (paths.length > 10 ? ` and ${paths.length - 10} more` : '');
  if (!allowDirty) {
    throw new AppError(
      'dirty_tree',
      `The working tree has uncommitted changes: ${shown(dirty)}.`,
      'Commit or stash them first, or pass --allow-dirty if the item does not touch those files.',
    );
  }
  const touched = new Set(editableFiles(ws, item, planRel));
  const overlap = dirty.filter((p) => touched.has(p));
  if (overlap.length > 0) {
    throw new AppError(
      'dirty_tree',
      `${item.id} edits files with uncommitted changes: ${shown(overlap)}.`,
      'Commit or stash those files first (--allow-dirty only covers files the item does not touch).',
    );
  }
}
