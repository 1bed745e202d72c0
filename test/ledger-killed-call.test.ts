import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../src/core/ledger/ledger.js';
import { cliEnvWithConfig, runCli, runCliAsync } from './helpers/cli.js';
import { FakeGeminiServer } from './fakes/llmServers.js';
import { makeGitRepo } from './helpers/repo.js';

const waitFor = async (what: string, check: () => boolean, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** Doubtful item of issue 8: a call the provider served while our process was killed is charged. */
describe('a metered call killed with -9 after it was sent', () => {
  let gemini: FakeGeminiServer;
  beforeAll(async () => {
    // The provider takes its time: the CLI is killed while the request is being served.
    gemini = await FakeGeminiServer.start({ apiKey: 'test-key', fallback: { text: 'late', delayMs: 30_000 } });
  });
  afterAll(() => gemini.close());

  it('is charged its reservation once, marked as an estimate, when the ledger is next used', async () => {
    const repo = makeGitRepo({ 'src/retry.ts': 'export function retryDelay(n: number) { return 2 ** n; }\n' });
    const env = cliEnvWithConfig({ llm: { gemini: { baseUrl: gemini.url }, maxRetries: 0 } });
    expect(runCli(['index'], { cwd: repo, env }).code).toBe(0);

    const { child, done } = runCliAsync(['ask', 'what does retryDelay return', '--json'], { cwd: repo, env });
    await waitFor('the request to reach the provider', () => gemini.requests.length === 1);
    child.kill('SIGKILL');
    expect((await done).code).toBeNull();

    const credits = runCli(['credits', '--json'], { cwd: repo, env });
    expect(credits.code, credits.stderr).toBe(0);
    const [charge] = credits.json.recent;
    expect(charge.type).toBe('usage_deduction');
    expect(charge.description).toMatch(
      /^ask: gemini\/gemini-2\.5-flash interrupted \(process \d+ ended during the call\); charged its reservation as an estimate$/,
    );
    expect(charge.credits).toBeLessThan(0);
    expect(credits.json.balance).toBeCloseTo(500 + charge.credits, 3);
    expect(credits.json.reserved).toBe(0);

    const db = new Database(Ledger.fileIn(env.AI_DEV_BOT_HOME!), { readonly: true });
    const usage = db.prepare('SELECT * FROM api_usage').all() as Array<Record<string, unknown>>;
    db.close();
    expect(usage).toHaveLength(1);
    // The reservation: the prompt counted, the output at its cap (llm.architect.maxOutputTokens).
    expect(usage[0]).toMatchObject({
      task: 'ask',
      status: 'interrupted',
      cost_source: 'reservation',
      tokens_estimated: 1,
      output_tokens: 8192,
    });
    expect(usage[0]!.input_tokens).toBeGreaterThan(0);
    expect(charge.usd).toBe(Number(usage[0]!.cost) / 1e9);

    // Settled once: later commands see the same balance and no second charge.
    const again = runCli(['credits', '--json'], { cwd: repo, env });
    expect(again.json.balance).toBe(credits.json.balance);
    expect(again.json.spend.calls).toBe(1);
  });

  it("charges a dead process's hold even long after it expired; a hold placed ahead of time is dropped free", async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-hold-')), 'ledger.db');
    const ledger = await Ledger.open({ file, initialGrantMilli: 500_000n });
    const call = { provider: 'gemini', model: 'm', task: 'ask', project: 'p', inputTokens: 10, outputTokens: 20 };
    const sent = ledger.tryHold(7_000n, 60_000, { ...call, costNano: 4_000_000n, sent: true });
    const ahead = ledger.tryHold(9_000n, 60_000, { ...call, costNano: 5_000_000n, sent: false });
    ledger.close();
    expect(sent.ok && ahead.ok).toBe(true);
    // Their owner dies: hand the holds to a real pid that has already exited.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const db = new Database(file);
    db.prepare('UPDATE credit_holds SET pid = ?').run(dead);
    db.close();

    const dayLater = await Ledger.open({
      file,
      initialGrantMilli: 500_000n,
      now: () => new Date(Date.now() + 86_400_000),
    });
    try {
      dayLater.settleAbandonedHolds();
      expect(dayLater.heldMilli()).toBe(0n);
      expect(dayLater.balanceMilli()).toBe(493_000n);
      const [charge] = dayLater.history(1);
      expect(charge).toMatchObject({ type: 'usage_deduction', creditsMilli: -7_000n, usdCostNano: 4_000_000n });
      dayLater.settleAbandonedHolds();
      expect(dayLater.balanceMilli()).toBe(493_000n);
    } finally {
      dayLater.close();
    }
  });
});
