/** Exit codes of DESIGN §3; CI scripts rely on them, so never renumber. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  credits: 3,
  rejected: 4,
  nothingToDo: 5,
  aider: 6,
  provider: 7,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Machine-readable error ids (stable: they appear in `--json` output). */
export type ErrorCode =
  | 'not_a_git_repo'
  | 'bad_config'
  | 'bad_argument'
  | 'model_missing'
  | 'model_invalid'
  | 'index_missing'
  | 'index_corrupt'
  | 'insufficient_credits'
  | 'budget_exceeded'
  | 'verification_rejected'
  | 'nothing_to_do'
  | 'aider_missing'
  | 'aider_failed'
  | 'provider_auth'
  | 'provider_rejected'
  | 'provider_credits'
  | 'provider_failed'
  | 'plan_missing'
  | 'plan_foreign'
  | 'dirty_tree'
  | 'sync_not_configured'
  | 'sync_failed'
  | 'untrusted_config'
  | 'interrupted'
  | 'internal';

/** An error the user can act on: it carries the exit code and a hint naming the fix. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, exitCode: ExitCodeValue, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

export function usageError(message: string, hint?: string): AppError {
  return new AppError('bad_argument', ExitCode.usage, message, hint);
}
