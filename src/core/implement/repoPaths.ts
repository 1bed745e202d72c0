import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a repo-relative path really lands on disk. Aider opens files with plain open(), which
 * follows symlinks: a tracked link (or a linked directory on the way) to a file outside the repo
 * would let an item write there. Such paths are never handed to Aider.
 */
export function resolvesOutsideRepo(root: string, rel: string): boolean {
  const realRoot = realpathSync(root);
  const inside = (real: string) => real === realRoot || real.startsWith(realRoot + path.sep);
  let probe = path.resolve(root, rel);
  let rest = '';
  // A bounded walk: each step either resolves the probe or moves to its parent / link target.
  for (let step = 0; step < 64; step++) {
    try {
      return !inside(path.join(realpathSync(probe), rest));
    } catch {
      // missing, or a dangling link: follow the link by hand, else try the parent directory
    }
    let isLink = false;
    try {
      isLink = lstatSync(probe).isSymbolicLink();
    } catch {
      isLink = false;
    }
    if (isLink) {
      probe = path.resolve(path.dirname(probe), readlinkSync(probe));
      continue;
    }
    const parent = path.dirname(probe);
    if (parent === probe) return true;
    rest = path.join(path.basename(probe), rest);
    probe = parent;
  }
  return true;
}
