import { createInterface } from 'node:readline/promises';
import { usageError } from '../core/errors.js';
import type { Output } from './output.js';
import { unattended } from './terminal.js';

export interface Question {
  text: string;
  /** The flag that answers "yes" without asking, named in the error when nobody can answer. */
  flag: string;
  /**
   * Without anyone to ask: `proceed` when running the command already says yes (implement),
   * `refuse` when a wrong guess would lose something (replacing a plan).
   */
  whenUnattended: 'proceed' | 'refuse';
}

/** Someone is at a terminal to answer: not CI, stdin is a TTY, and stdout is not machine output. */
export function canAsk(out: Output): boolean {
  return !unattended(false) && !out.json && !out.events;
}

/**
 * Asks a yes/no question on the terminal (default yes). Never prompts in CI, without a terminal on
 * stdin, with --yes, or in machine-output modes: then the question is answered by `whenUnattended`.
 */
export async function askYesNo(out: Output, yes: boolean, question: Question): Promise<boolean> {
  if (yes) return true;
  if (!canAsk(out)) {
    if (question.whenUnattended === 'proceed') return true;
    throw usageError(
      `${question.text} This needs an answer, and none can be given here (CI=true, no terminal on stdin, or --json).`,
      `Pass ${question.flag} to answer yes.`,
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question.text} [Y/n] `)).trim().toLowerCase();
    return answer === '' || answer === 'y' || answer === 'yes';
  } finally {
    rl.close();
  }
}
