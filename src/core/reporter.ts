/**
 * How core code talks to the user without knowing about terminals: the CLI supplies an
 * implementation (plain stderr lines, ink views, NDJSON events, or silence for --json/--quiet).
 */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /** A step of a long run, for `--events` (NDJSON) consumers; optional, most reporters ignore it. */
  event?(event: RunEvent): void;
}

/**
 * The steps a pipeline log or dashboard can follow (`implement --events`, `index --events`).
 * Field names are stable: add fields freely, never rename.
 */
export type RunEvent =
  | { type: 'attempt_started'; item: string; attempt: number; attempts: number }
  | {
      type: 'aider_finished';
      item: string;
      attempt: number;
      exitCode: number | null;
      seconds: number;
      calls: number;
      editedFiles: string[];
    }
  | {
      type: 'checks';
      item: string;
      attempt: number;
      command: string;
      passed: boolean;
      exitCode: number | null;
      seconds: number;
    }
  | { type: 'review'; item: string; attempt: number; verdict: 'APPROVED' | 'REJECTED'; feedback: string }
  | { type: 'commit'; item: string; sha: string }
  | {
      type: 'charge';
      task: string;
      provider: string;
      model: string;
      inputTokens: number;
      outputTokens: number;
      credits: number;
      usd: number;
    }
  | {
      type: 'index_progress';
      phase: string;
      filesDone?: number;
      filesTotal?: number;
      chunksDone?: number;
      chunksTotal?: number;
    };

export const silentReporter: Reporter = {
  info() {},
  warn() {},
  debug() {},
};
