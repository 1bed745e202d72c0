import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/core/config.js';
import { changesSinceIndex } from '../src/core/index/changesSinceIndex.js';
import { discoverFiles } from '../src/core/index/discover.js';
import type { FileRow } from '../src/core/index/store.js';
import { makeGitRepo } from './helpers/repo.js';

/** The one stat-based "what changed since the index" test that `index` and `status` share. */
describe('changesSinceIndex', () => {
  it('finds new, edited (by size or mtime) and removed files, and keeps content-skipped ones skipped', async () => {
    const root = makeGitRepo({
      'src/same.ts': 'export const a = 1;\n',
      'src/grown.ts': 'export const b = 2;\n',
      'src/touched.ts': 'export const c = 3;\n',
      'src/gone.ts': 'export const d = 4;\n',
      'src/generated.ts': '// generated\n',
    });
    const options = configSchema.parse({}).index;
    const before = await discoverFiles(root, options);
    const known = new Map<string, FileRow>(
      before.files.map((f) => [
        f.path,
        { ...f, hash: f.path === 'src/generated.ts' ? 'skip:generated' : `h-${f.path}`, chunkCount: 1 },
      ]),
    );
    expect(changesSinceIndex(before.files, known)).toEqual({
      changed: [],
      removed: [],
      stillSkipped: [{ path: 'src/generated.ts', reason: 'generated' }],
    });

    writeFileSync(path.join(root, 'src/grown.ts'), 'export const b = 22;\n');
    const later = new Date(Date.now() + 5000);
    utimesSync(path.join(root, 'src/touched.ts'), later, later);
    rmSync(path.join(root, 'src/gone.ts'));
    writeFileSync(path.join(root, 'src/new.ts'), 'export const e = 5;\n');
    const after = await discoverFiles(root, options);
    const changes = changesSinceIndex(after.files, known);
    expect(changes.changed.map((f) => f.path).sort()).toEqual(['src/grown.ts', 'src/new.ts', 'src/touched.ts']);
    expect(changes.removed).toEqual(['src/gone.ts']);
    expect(changes.stillSkipped).toEqual([{ path: 'src/generated.ts', reason: 'generated' }]);
  });
});
