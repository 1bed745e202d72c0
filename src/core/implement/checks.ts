import { spawnProcessGroup } from '../processGroup.js';
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
  const run = spawnProcessGroup(
    command,
    [],
    {
      shell: true,
      cwd: options.cwd,
      stdin: 'ignore',
      env: { CI: process.env.CI ?? '1', FORCE_COLOR: '0', NO_COLOR: '1' },
      maxBuffer: 256 * 1024 * 1024,
    },
    { timeoutMs: options.timeoutMs, signal: options.signal },
  );
  const exit = await run.done;
  return {
    command,
    passed: !exit.timedOut && exit.exitCode === 0,
    exitCode: exit.exitCode,
    timedOut: exit.timedOut,
    durationMs: performance.now() - started,
    outputTail: tail(redactSecrets(exit.output)),
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
