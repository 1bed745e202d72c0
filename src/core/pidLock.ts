import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { processAlive } from './processAlive.js';

/**
 * A lock file holding its owner's pid, created with O_EXCL. A lock whose pid is gone (kill -9,
 * crash) is taken over at once, so a killed run never blocks the next one. The one lock mechanism:
 * the index writer, the plan file and the model fetch in the user cache.
 */

export interface PidLockHolder {
  pid: number;
  /** What the holder is doing, e.g. "implement" (written after the pid). */
  what: string;
}

function readHolder(file: string): PidLockHolder | undefined {
  try {
    const [pid = '', what = ''] = readFileSync(file, 'utf8').split('\n');
    const n = Number.parseInt(pid.trim(), 10);
    return Number.isFinite(n) ? { pid: n, what: what.trim() } : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock, or returns its live holder (another process). Never waits. */
export function tryPidLock(file: string, what: string): { release: () => void } | { holder: PidLockHolder } {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n${what}\n`);
      closeSync(fd);
      return { release: () => rmSync(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(file);
      // A file caught between create and write has no pid yet: try again rather than take it over.
      if (!holder) continue;
      if (holder.pid !== process.pid && processAlive(holder.pid)) return { holder };
      rmSync(file, { force: true });
    }
  }
  return { holder: readHolder(file) ?? { pid: 0, what: 'unknown' } };
}

/** `tryPidLock`, polling for up to `waitMs` while another live process holds it. */
export async function acquirePidLock(
  file: string,
  what: string,
  waitMs: number,
): Promise<{ release: () => void } | { holder: PidLockHolder }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const got = tryPidLock(file, what);
    if ('release' in got || Date.now() >= deadline) return got;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
