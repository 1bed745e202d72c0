import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../src/core/ledger/ledger.js';
import { bundleWorker } from './workers/bundle.js';

let worker: string;

beforeAll(async () => {
  worker = await bundleWorker('test/workers/ledgerWorker.ts', 'ledgerWorker');
});

function runWorker(
  file: string,
  count: number | 'forever',
): {
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  child: ReturnType<typeof spawn>;
  lines: () => number;
} {
  const child = spawn(process.execPath, [worker, file, String(count), '0.001'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { done, child, lines: () => stdout.split('\n').filter((l) => /^\d+$/.test(l)).length };
}

describe('ledger under concurrent processes and crashes', () => {
  it('4 processes × 250 deductions at once on a fresh ledger → exactly 1,000 deductions, one initial grant', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-conc-')), 'ledger.db');
    const runs = Array.from({ length: 4 }, () => runWorker(file, 250));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const ledger = await Ledger.open({ file, initialGrantMilli: 500_000n });
    expect(ledger.transactionCount('usage_deduction')).toBe(1000);
    expect(ledger.transactionCount('initial_grant')).toBe(1);
    // $0.001 each → 0.15 credits = 150 milli-credits.
    expect(ledger.balanceMilli()).toBe(500_000n - 1000n * 150n);
    expect(ledger.integrityProblems()).toEqual([]);
    const projects = await ledger.db.selectFrom('api_usage').select('project').distinct().execute();
    expect(projects.length).toBe(4);
    ledger.close();
  }, 120_000);

  it('kill -9 in the middle of a deduction loop leaves a consistent ledger', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-kill-')), 'ledger.db');
    const run = runWorker(file, 'forever');
    const started = Date.now();
    while (run.lines() < 300 && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 5));
    expect(run.lines()).toBeGreaterThanOrEqual(300);
    run.child.kill('SIGKILL');
    const result = await run.done;
    expect(result.signal).toBe('SIGKILL');
    const acknowledged = run.lines();

    const ledger = await Ledger.open({ file, initialGrantMilli: 500_000n });
    expect(ledger.integrityProblems()).toEqual([]);
    const deductions = ledger.transactionCount('usage_deduction');
    const usageRows = Number(
      (await ledger.db
        .selectFrom('api_usage')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst())!.n,
    );
    expect(usageRows).toBe(deductions);
    // Every acknowledged deduction is there; at most the one in flight (printed after commit) is extra.
    expect(deductions).toBeGreaterThanOrEqual(acknowledged);
    expect(deductions).toBeLessThanOrEqual(acknowledged + 1);
    expect(ledger.balanceMilli()).toBe(500_000n - BigInt(deductions) * 150n);
    // And it keeps working afterwards.
    ledger.grant(1000n);
    expect(ledger.balanceMilli()).toBe(500_000n - BigInt(deductions) * 150n + 1000n);
    ledger.close();
  }, 60_000);

  it('4 processes racing for holds the balance covers twice: exactly 2 win; holds of dead processes are dropped', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-hold-')), 'ledger.db');
    (await Ledger.open({ file, initialGrantMilli: 500_000n })).close();
    const children = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, [worker, file, 'hold', '200000'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const answer = new Promise<string>((resolve) =>
        child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())),
      );
      const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
      return { child, answer, exited };
    });
    const answers = await Promise.all(children.map((c) => c.answer));
    expect(answers.filter((a) => a === 'held')).toHaveLength(2);
    expect(answers.filter((a) => a === 'refused')).toHaveLength(2);

    const ledger = await Ledger.open({ file, initialGrantMilli: 500_000n });
    expect(ledger.heldMilli()).toBe(400_000n);
    expect(ledger.tryHold(200_000n, 60_000).ok).toBe(false);
    for (const c of children) c.child.stdin!.end();
    await Promise.all(children.map((c) => c.exited));
    // The holders are gone (as after a crash or Ctrl-C): their holds no longer block anyone.
    expect(ledger.heldMilli()).toBe(0n);
    expect(ledger.tryHold(400_000n, 60_000).ok).toBe(true);
    expect(ledger.balanceMilli()).toBe(500_000n);
    ledger.close();
  }, 60_000);
});
