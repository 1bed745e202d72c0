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
  | 'sync_rejected'
  | 'untrusted_config'
  | 'interrupted'
  | 'internal';

/**
 * The one place an error code meets its exit code, so an error can never disagree with itself.
 * `satisfies` makes a new ErrorCode a compile error until it has its row here.
 */
export const exitCodeOf = {
  not_a_git_repo: ExitCode.usage,
  bad_config: ExitCode.usage,
  bad_argument: ExitCode.usage,
  model_missing: ExitCode.usage,
  model_invalid: ExitCode.usage,
  index_missing: ExitCode.usage,
  index_corrupt: ExitCode.usage,
  insufficient_credits: ExitCode.credits,
  budget_exceeded: ExitCode.credits,
  verification_rejected: ExitCode.rejected,
  nothing_to_do: ExitCode.nothingToDo,
  aider_missing: ExitCode.aider,
  aider_failed: ExitCode.aider,
  provider_auth: ExitCode.usage,
  provider_rejected: ExitCode.usage,
  provider_credits: ExitCode.credits,
  provider_failed: ExitCode.provider,
  plan_missing: ExitCode.usage,
  plan_foreign: ExitCode.usage,
  dirty_tree: ExitCode.usage,
  sync_not_configured: ExitCode.usage,
  /** The server stayed unreachable or failing after retries: a transient state, not the user's input. */
  sync_failed: ExitCode.internal,
  sync_rejected: ExitCode.usage,
  untrusted_config: ExitCode.usage,
  interrupted: ExitCode.interrupted,
  internal: ExitCode.internal,
} as const satisfies Record<ErrorCode, ExitCodeValue>;

/** An error the user can act on: a stable code (which implies the exit code) and a hint naming the fix. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.exitCode = exitCodeOf[code];
    this.hint = hint;
  }
}

export function usageError(message: string, hint?: string): AppError {
  return new AppError('bad_argument', message, hint);
}
