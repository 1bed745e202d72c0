import { isSecretPath } from '../index/discover.js';
import type { PlanItem } from '../plan/planFile.js';

export const WITHHELD_PATH = '[a secret file, withheld]';

/**
 * Replaces every word that names a secret file (`.env`, `config/prod.pem`, …) with the marker `[a secret file, withheld]`.
 * Aider adds files named in its message (and `--yes-always` says yes), so such a name must not
 * reach it even though the allow-list already hides the file. Words are cut like Aider cuts them
 * (whitespace, then quotes and trailing punctuation).
 */
export function withholdSecretPaths(text: string): string {
  return text.replace(/\S+/g, (word) => {
    const core = /^["'`*_([<]*(.*?)["'`*_)\]>,.!;:?]*$/s.exec(word)?.[1] ?? word;
    const name = core.replace(/^\.\//, '');
    if (!name || !isSecretPath(name)) return word;
    return word.replace(core, WITHHELD_PATH);
  });
}

/** The request Aider gets for one attempt: the item, its criteria, and the last rejection's feedback. */
export interface PreviousRejection {
  feedback: string;
  problems: string[];
  /** The tail of the failing check's output, when the checks failed. */
  checkOutput?: string;
}

export function buildCoderMessage(input: {
  item: PlanItem;
  planFile: string;
  checkCommand: string | undefined;
  previous?: PreviousRejection;
  attempt: number;
}): string {
  const { item } = input;
  const lines = [
    `Implement this item of the project plan (${input.planFile}).`,
    '',
    `${item.id}: ${item.title}`,
    '',
    item.action ? `What to do:\n${item.action}` : 'What to do: see the title.',
    '',
    `Files: ${item.files.join(', ') || '(choose the right files)'}`,
    '',
    'Acceptance criteria (a reviewer checks the diff against them):',
    item.verification || '(the item is done as described)',
  ];
  if (input.checkCommand) lines.push('', `The repository's checks must pass afterwards: \`${input.checkCommand}\`.`);
  lines.push(
    '',
    `Keep the change focused on this item. Do not edit ${input.planFile}; it is updated for you.`,
    'Make all edits now with SEARCH/REPLACE blocks; do not ask questions.',
  );
  if (input.previous) {
    lines.push(
      '',
      `## Attempt ${input.attempt}: the previous attempt was rejected`,
      'Its changes are still in the files. Fix them according to this feedback:',
      '',
      input.previous.feedback.trim() || '(no feedback text)',
    );
    if (input.previous.problems.length > 0)
      lines.push('', 'Problems:', ...input.previous.problems.map((p) => `- ${p}`));
    if (input.previous.checkOutput)
      lines.push('', 'Check output (tail):', '```', input.previous.checkOutput.trim(), '```');
  }
  return `${withholdSecretPaths(lines.join('\n'))}\n`;
}
