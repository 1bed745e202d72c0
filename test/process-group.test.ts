import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChecks } from '../src/core/implement/checks.js';
import { processAlive } from '../src/core/processAlive.js';

/**
 * The one spawn-with-timeout-and-kill helper, through the check runner: whatever the check command
 * started in the background goes with it on a timeout or an abort (Aider's runs use the same helper).
 */
function backgroundCommand(): { command: string; pidFile: string } {
  const pidFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-pgroup-')), 'child.pid');
  return { command: `sleep 60 & echo $! > ${pidFile}; wait`, pidFile };
}

const childPid = (pidFile: string) => Number.parseInt(readFileSync(pidFile, 'utf8'), 10);

/** Exited (a zombie waiting for a non-reaping init counts as exited). */
function running(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && running(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !running(pid);
}

describe('process group helper', () => {
  it('a check past its timeout is stopped with everything it started', async () => {
    const { command, pidFile } = backgroundCommand();
    const started = Date.now();
    const result = await runChecks(command, { cwd: os.tmpdir(), timeoutMs: 1500 });
    expect(result.timedOut).toBe(true);
    expect(result.passed).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await gone(childPid(pidFile))).toBe(true);
  });

  it('an abort stops the check and its background child; a quick check passes untouched', async () => {
    const { command, pidFile } = backgroundCommand();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 1500);
    const result = await runChecks(command, { cwd: os.tmpdir(), timeoutMs: 60_000, signal: abort.signal });
    expect(result.passed).toBe(false);
    expect(result.timedOut).toBe(false);
    expect(await gone(childPid(pidFile))).toBe(true);

    const ok = await runChecks('echo fine', { cwd: os.tmpdir(), timeoutMs: 10_000 });
    expect(ok).toMatchObject({ passed: true, exitCode: 0, timedOut: false });
    expect(ok.outputTail).toContain('fine');
  });
});
