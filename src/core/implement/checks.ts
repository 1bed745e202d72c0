import { execa } from 'execa';
import { redactSecrets } from '../redact.js';

/** The repo's own checks (config `verify.command`, e.g. `npm test`), run before the review. */
export interface CheckResult {
  command: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** The last lines of the combined output, secrets redacted. */
  outputTail: string;
}

export const CHECK_TAIL_CHARS = 4000;

export function tail(text: string, chars = CHECK_TAIL_CHARS): string {
  if (text.length <= chars) return text;
  const cut = text.slice(text.length - chars);
  const nl = cut.indexOf('\n');
  return `…${nl >= 0 && nl < 200 ? cut.slice(nl) : cut}`;
}

/** Runs `command` through the shell in `cwd`; the process group is killed on timeout or abort. */
export async function runChecks(
  command: string,
  options: { cwd: string; timeoutMs: number; signal?: AbortSignal },
): Promise<CheckResult> {
  const started = performance.now();
  const child = execa(command, {
    shell: true,
    cwd: options.cwd,
    stdin: 'ignore',
    all: true,
    reject: false,
    detached: true,
    cleanup: true,
    env: { CI: process.env.CI ?? '1', FORCE_COLOR: '0', NO_COLOR: '1' },
    maxBuffer: 256 * 1024 * 1024,
  });
  let timedOut = false;
  const kill = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill('SIGTERM');
    setTimeout(() => kill('SIGKILL'), 3000).unref();
  }, options.timeoutMs);
  const onAbort = () => kill('SIGKILL');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const result = await child;
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  const output = redactSecrets(String(result.all ?? ''));
  return {
    command,
    passed: !timedOut && result.exitCode === 0,
    exitCode: result.exitCode ?? null,
    timedOut,
    durationMs: performance.now() - started,
    outputTail: tail(output),
  };
}

/** How the loop runs checks (injected, so it can be driven without a shell). */
export type CheckRunner = typeof runChecks;

export function describeCheck(check: CheckResult | null): string {
  if (!check) return 'no check command configured (verify.command)';
  const seconds = (check.durationMs / 1000).toFixed(1);
  if (check.timedOut) return `\`${check.command}\` timed out after ${seconds} s`;
  return check.passed
    ? `\`${check.command}\` passed in ${seconds} s`
    : `\`${check.command}\` failed with exit code ${check.exitCode} in ${seconds} s`;
}
