import { usageError } from './errors.js';

/**
 * Longest text the tool takes for each kind of user input (README "Limits"). The crash these once
 * triggered (onnxruntime telemetry parsing argv, see embedder.ts) is gone; the limits keep every
 * input far from the sizes native code and models were tested with, and make a pasted file fail
 * fast with a clear message instead of a slow, expensive or truncated run.
 */
export const INPUT_LIMITS = {
  /** The embedding model reads only the first 256 tokens (≈ 1,000 characters) of a query anyway. */
  query: { chars: 2_000, label: 'The search query' },
  question: { chars: 8_000, label: 'The question' },
  /** The goal becomes a line of the plan file and the index query for the plan's context. */
  goal: { chars: 8_000, label: 'The goal' },
  /** Stored with a ledger transaction. */
  reason: { chars: 1_000, label: 'The --reason text' },
  /** A model id (`pricing set`, `--model`). */
  model: { chars: 200, label: 'The model name' },
} as const;

export type InputKind = keyof typeof INPUT_LIMITS;

/** Exit 2 with the limit when `text` is longer than `kind` allows. */
export function assertInputLength(kind: InputKind, text: string): void {
  const { chars, label } = INPUT_LIMITS[kind];
  if (text.length <= chars) return;
  throw usageError(
    `${label} is ${text.length.toLocaleString('en-US')} characters long; the limit is ${chars.toLocaleString('en-US')}.`,
    kind === 'query' || kind === 'question' || kind === 'goal'
      ? `Shorten it to at most ${chars.toLocaleString('en-US')} characters: state the gist; the tool finds the code itself.`
      : `Shorten it to at most ${chars.toLocaleString('en-US')} characters.`,
  );
}
