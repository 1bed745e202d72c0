import { redactContentSecrets } from './secretScanner.js';

/** A credential masked in something about to be sent: where (file line) and by which rule. */
export interface ExcerptRedaction {
  path: string;
  line: number;
  rule: string;
}

/**
 * Masks credentials in file excerpts before they go into a prompt (ask, plan context). The index
 * already stores masked text; this also covers an index built before masking existed, README and
 * manifests read straight from disk. Line numbers reported are the file's.
 */
export async function redactExcerpts<T extends { path: string; startLine?: number; text: string }>(
  excerpts: T[],
  onRedaction?: (redaction: ExcerptRedaction) => void,
): Promise<T[]> {
  return Promise.all(
    excerpts.map(async (excerpt) => {
      const { text, findings } = await redactContentSecrets(excerpt.text, excerpt.path);
      if (findings.length === 0) return excerpt;
      for (const f of findings)
        onRedaction?.({ path: excerpt.path, line: (excerpt.startLine ?? 1) + f.line - 1, rule: f.rule });
      return { ...excerpt, text };
    }),
  );
}

/** `settings.py:6 (aws/AWSSecretAccessKey)`: what --verbose prints, never the value. */
export function describeRedaction(r: ExcerptRedaction): string {
  return `${r.path}:${r.line} (${r.rule})`;
}
