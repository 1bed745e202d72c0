import { AppError, ExitCode, type ExitCodeValue } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import { redactSecrets } from '../core/redact.js';

export interface GlobalOptions {
  json?: boolean;
  cwd?: string;
  quiet?: boolean;
  verbose?: boolean;
}

/**
 * Output modes of DESIGN §3: with --json exactly one JSON object goes to stdout and everything
 * else to stderr; without a TTY nothing is drawn, only plain lines.
 */
export class Output implements Reporter {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** Rich views (ink) only on an interactive terminal and never in JSON mode. */
  readonly interactive: boolean;

  constructor(options: GlobalOptions, stderrIsTTY = Boolean(process.stderr.isTTY)) {
    this.json = Boolean(options.json);
    this.quiet = Boolean(options.quiet);
    this.verbose = Boolean(options.verbose);
    this.interactive = stderrIsTTY && !this.json && !this.quiet && !process.env.CI;
  }

  info(message: string): void {
    if (!this.quiet) process.stderr.write(`${redactSecrets(message)}\n`);
  }

  warn(message: string): void {
    process.stderr.write(`warning: ${redactSecrets(message)}\n`);
  }

  debug(message: string): void {
    if (this.verbose) process.stderr.write(`debug: ${redactSecrets(message)}\n`);
  }

  /** The command's result: one JSON object with --json, otherwise human text on stdout. */
  result(data: object, human: string | (() => string)): void {
    if (this.json) {
      process.stdout.write(`${JSON.stringify(data)}\n`);
      return;
    }
    const text = typeof human === 'function' ? human() : human;
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Reports a failure in the current mode and returns the exit code to use. */
  failure(err: unknown): ExitCodeValue {
    const appError =
      err instanceof AppError
        ? err
        : new AppError('internal', ExitCode.internal, err instanceof Error ? err.message : String(err));
    const message = redactSecrets(appError.message);
    const hint = appError.hint ? redactSecrets(appError.hint) : undefined;
    if (this.json) {
      process.stdout.write(`${JSON.stringify({ error: { code: appError.code, message, hint: hint ?? null } })}\n`);
    } else {
      process.stderr.write(`error: ${message}\n`);
      if (hint) process.stderr.write(`hint: ${hint}\n`);
    }
    if (!(err instanceof AppError) && err instanceof Error && (this.verbose || process.env.AI_DEV_BOT_DEBUG)) {
      process.stderr.write(`${err.stack ?? ''}\n`);
    } else if (!(err instanceof AppError)) {
      process.stderr.write('This is a bug in ai-dev-bot; rerun with --verbose for a stack trace and report it.\n');
    }
    return appError.exitCode;
  }
}
