import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { changesSinceIndex } from './changesSinceIndex.js';
import { discoverFiles } from './discover.js';
import { IndexStore } from './store.js';
import type { Workspace } from '../workspace.js';

export interface IndexFreshness {
  files: number;
  chunks: number;
  /** Files added, changed (by stat) or removed since the last `index`; 0 means fresh. */
  stale: number;
  indexedAt: string | null;
}

/**
 * How current the index is, without reading file contents: one `git ls-files` and a stat per
 * file, compared with what the last run recorded. Undefined when there is no index yet.
 */
export async function indexFreshness(ws: Workspace, config: Config): Promise<IndexFreshness | undefined> {
  if (!existsSync(path.join(ws.indexDir, 'index.db'))) return undefined;
  const store = IndexStore.open(ws.indexDir);
  try {
    const known = store.fileRows();
    const { chunks } = store.counts();
    const { files } = await discoverFiles(ws.root, config.index);
    const { changed, removed } = changesSinceIndex(files, known);
    return {
      files: [...known.values()].filter((row) => row.chunkCount > 0).length,
      chunks,
      stale: changed.length + removed.length,
      indexedAt: store.getMeta('indexed_at') ?? null,
    };
  } finally {
    store.close();
  }
}
