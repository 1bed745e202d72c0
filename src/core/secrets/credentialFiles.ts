import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { readIndexableText } from '../index/discover.js';
import { scanSecrets, type SecretFinding } from './secretScanner.js';

/** Files read at once while scanning a tree: enough to overlap disk reads, few open handles. */
const CONCURRENCY = 16;
/** Larger files are not read (an untracked dump could be huge) and count as unfit. */
const MAX_SCAN_BYTES = 2 * 1024 * 1024;

/**
 * Which of `paths` hold a credential in their content, with the findings (rule and line, never
 * the value). Files the index would not read (links, binaries, generated, unreadable) count as
 * unfit too, with no findings, as are files over 2 MiB: nothing of them should be shown whole.
 */
export async function filesHoldingCredentials(root: string, paths: string[]): Promise<Map<string, SecretFinding[]>> {
  const unfit = new Map<string, SecretFinding[]>();
  for (let i = 0; i < paths.length; i += CONCURRENCY) {
    await Promise.all(
      paths.slice(i, i + CONCURRENCY).map(async (rel) => {
        const st = await lstat(path.join(root, rel)).catch(() => undefined);
        if (!st) return;
        if (st.size > MAX_SCAN_BYTES) return void unfit.set(rel, []);
        const read = await readIndexableText(root, rel);
        if ('skip' in read) {
          if (read.skip !== 'missing') unfit.set(rel, []);
          return;
        }
        const findings = await scanSecrets(read.text, rel);
        if (findings.length > 0) unfit.set(rel, findings);
      }),
    );
  }
  return unfit;
}
