import { readIndexableText } from '../index/discover.js';
import { scanSecrets, type SecretFinding } from './secretScanner.js';

/** Files read at once while scanning a tree: enough to overlap disk reads, few open handles. */
const CONCURRENCY = 16;

/**
 * Which of `paths` hold a credential in their content, with the findings (rule and line, never
 * the value). Files the index would not read (links, binaries, generated, unreadable) count as
 * unfit too, with no findings: nothing of them should be shown whole to a model.
 */
export async function filesHoldingCredentials(root: string, paths: string[]): Promise<Map<string, SecretFinding[]>> {
  const unfit = new Map<string, SecretFinding[]>();
  for (let i = 0; i < paths.length; i += CONCURRENCY) {
    await Promise.all(
      paths.slice(i, i + CONCURRENCY).map(async (rel) => {
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
