import type { Readable } from 'node:stream';
import { execa, type Options } from 'execa';

/**
 * A child in its own process group, so stopping it (timeout, Ctrl-C, the caller's own reason) takes
 * down everything it started too: a shell's `npm test`, Aider's git. execa's own `timeout` and
 * `cancelSignal` reach the direct child only.
 */
export interface GroupProcess {
  pid: number | undefined;
  /** stdout and stderr interleaved, as they come. */
  output: Readable | undefined;
  /** SIGTERM to the group, SIGKILL after the grace period; idempotent. */
  stop: () => void;
  /** Settles once the child exited; stragglers of a stopped group are killed by then. */
  done: Promise<GroupExit>;
}

export interface GroupExit {
  /** stdout and stderr interleaved. */
  output: string;
  exitCode: number | null;
  /** The signal that ended the leader, if one did. */
  exitSignal: string | null;
  timedOut: boolean;
  /** Stopped because `signal` aborted. */
  aborted: boolean;
}

export interface GroupControl {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** How long SIGTERM has before SIGKILL (default 3 s). */
  graceMs?: number;
}

const DEFAULT_GRACE_MS = 3000;

/** Kills the whole process group (falling back to the pid alone); never throws. */
export function killProcessGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Spawns `file` (a shell command with `shell: true`) detached, output interleaved in `all`, never rejecting. */
export function spawnProcessGroup(
  file: string,
  args: readonly string[],
  options: Omit<Options, 'detached' | 'all' | 'reject' | 'cleanup'>,
  control: GroupControl,
): GroupProcess {
  const child = execa(file, args, { ...options, detached: true, all: true, reject: false, cleanup: true });
  const pid = child.pid;
  let stopped = false;
  let timedOut = false;
  let aborted = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (pid === undefined) return;
    stopped = true;
    killProcessGroup(pid, 'SIGTERM');
    graceTimer ??= setTimeout(() => killProcessGroup(pid, 'SIGKILL'), control.graceMs ?? DEFAULT_GRACE_MS);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, control.timeoutMs);
  const onAbort = () => {
    aborted = true;
    stop();
  };
  if (control.signal?.aborted) onAbort();
  else control.signal?.addEventListener('abort', onAbort, { once: true });
  const done = (async (): Promise<GroupExit> => {
    const result = await child;
    clearTimeout(timer);
    control.signal?.removeEventListener('abort', onAbort);
    if (graceTimer) clearTimeout(graceTimer);
    // The leader is gone; what it started (a git, a test runner's workers) goes too.
    if (stopped && pid !== undefined) killProcessGroup(pid, 'SIGKILL');
    return {
      output: String(result.all ?? ''),
      exitCode: result.exitCode ?? null,
      exitSignal: result.signal ?? null,
      timedOut,
      aborted,
    };
  })();
  return { pid, output: child.all, stop, done };
}
