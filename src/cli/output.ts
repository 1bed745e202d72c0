import { AppError, type ExitCodeValue } from '../core/errors.js';
import type { Reporter, RunEvent } from '../core/reporter.js';
import { redactSecrets } from '../core/redact.js';
import { colorEnabled, isCi, painter, type Style } from './terminal.js';

export interface GlobalOptions {
  json?: boolean;
  cwd?: string;
  quiet?: boolean;
  verbose?: boolean;
  yes?: boolean;
  /** NDJSON on stdout: one object per step, then a `result` (or `error`) object last. */
  events?: boolean;
}

/**
 * Output modes of DESIGN §3: with --json exactly one JSON object goes to stdout and everything
 * else to stderr; with --events one JSON object per line (steps, then the result); without a TTY
 * nothing is drawn and no ANSI byte is written, only plain lines.
 */
export class Output implements Reporter {
  readonly json: boolean;
  readonly events: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** Rich views (ink) only on an interactive terminal and never in a machine-output mode. */
  readonly interactive: boolean;
  /** Colours for human text on stdout (NO_COLOR / FORCE_COLOR honoured); never in machine output. */
  readonly paint: (style: Style, text: string) => string;

  constructor(
    options: GlobalOptions,
    stderrIsTTY = Boolean(process.stderr.isTTY),
    stdoutIsTTY = Boolean(process.stdout.isTTY),
  ) {
    this.events = Boolean(options.events);
    this.json = Boolean(options.json) && !this.events;
    this.quiet = Boolean(options.quiet);
    this.verbose = Boolean(options.verbose);
    this.interactive = stderrIsTTY && !this.json && !this.events && !this.quiet && !isCi();
    this.paint = painter(!this.json && !this.events && colorEnabled(stdoutIsTTY));
  }

  /** A machine-readable mode (--json or --events) is active: stdout carries JSON only. */
  get machine(): boolean {
    return this.json || this.events;
  }

  event(event: RunEvent): void {
    if (this.events) this.writeEvent(event);
  }

  private writeEvent(event: object): void {
    process.stdout.write(`${redactSecrets(JSON.stringify({ ...event, time: new Date().toISOString() }))}\n`);
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

  /** The command's result: one JSON object with --json, the last event with --events, else human text. */
  result(data: object, human: string | (() => string)): void {
    if (this.events) {
      this.writeEvent({ type: 'result', ...data });
      return;
    }
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
      err instanceof AppError ? err : new AppError('internal', err instanceof Error ? err.message : String(err));
    const message = redactSecrets(appError.message);
    const hint = appError.hint ? redactSecrets(appError.hint) : undefined;
    if (this.events) {
      this.writeEvent({ type: 'error', error: { code: appError.code, message, hint: hint ?? null } });
    } else if (this.json) {
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
