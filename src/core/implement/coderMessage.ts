import type { PlanItem } from '../plan/planFile.js';

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
  return `${lines.join('\n')}\n`;
}
