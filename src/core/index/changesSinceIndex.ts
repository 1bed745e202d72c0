import type { DiscoveredFile, SkippedFile, SkipReason } from './discover.js';
import type { FileRow } from './store.js';

/** How the files on disk differ from what the last `index` run recorded, by stat alone. */
export interface ChangesSinceIndex {
  /** New files and files whose size or mtime changed: the ones to read again. */
  changed: DiscoveredFile[];
  /** Indexed paths that are no longer there (deleted, ignored, now secret). */
  removed: string[];
  /** Unchanged files the last run skipped by content (generated, binary): still skipped. */
  stillSkipped: SkippedFile[];
}

/**
 * The one "what changed since the index" test, for `index` (what to read, what to drop) and for
 * `status` (how stale the index is). Contents are not read: a file with the same size and mtime is
 * taken as unchanged, as git's own index does.
 */
export function changesSinceIndex(files: DiscoveredFile[], known: Map<string, FileRow>): ChangesSinceIndex {
  const changed: DiscoveredFile[] = [];
  const stillSkipped: SkippedFile[] = [];
  for (const file of files) {
    const row = known.get(file.path);
    if (!row || row.size !== file.size || row.mtimeMs !== file.mtimeMs) changed.push(file);
    else if (row.hash.startsWith('skip:'))
      stillSkipped.push({ path: file.path, reason: row.hash.slice(5) as SkipReason });
  }
  const seen = new Set(files.map((f) => f.path));
  const removed = [...known.keys()].filter((p) => !seen.has(p));
  return { changed, removed, stillSkipped };
}
