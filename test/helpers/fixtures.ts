import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './cli.js';

/** Reads a fixture folder under test/fixtures into a path → content map. */
export function readFixtureTree(name: string): Record<string, string> {
  const base = path.join(projectRoot, 'test', 'fixtures', name);
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[path.relative(base, full).split(path.sep).join('/')] = readFileSync(full, 'utf8');
    }
  };
  walk(base);
  return out;
}
