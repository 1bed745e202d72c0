import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../src/core/ledger/ledger.js';
import { autoSync, syncSettings } from '../src/core/ledger/syncSetup.js';
import { FakeGeminiServer } from './fakes/llmServers.js';
import { cliEnv, cliEnvWithConfig, runCli, runCliAsync } from './helpers/cli.js';
import { makeGitRepo } from './helpers/repo.js';
import { api, makeAccount, serverCli, startServer, type RunningServer } from './helpers/teamServer.js';
import { cli, cliAsync, localBalanceMilli, spend, syncClientEnv } from './helpers/syncClient.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'aidb-sync-'));

describe('credits sync through bin/ against the real server (SQLite)', () => {
  const db = path.join(tmp(), 'server.db');
  let server: RunningServer;
  let team: { accountId: string; tokens: string[] };

  beforeAll(async () => {
    team = makeAccount(db, 'team', ['alice', 'bob', 'ci', 'carol', 'dave']);
    serverCli(['grant', '--account', 'team', '1000'], db);
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('without sync.url, status says sync is not configured and credits sync names the key', () => {
    const env = cliEnv({ AI_DEV_BOT_SYNC_TOKEN: 'some-token' });
    const root = makeGitRepo({ 'a.ts': 'export const a = 1;\n' });
    const status = runCli(['status'], { cwd: root, env });
    expect(status.stdout).toContain('not configured (sync.url)');
    expect(status.stdout).not.toContain('not synced');
    expect(runCli(['status', '--json'], { cwd: root, env }).json.sync).toMatchObject({ configured: false });
    const sync = runCli(['credits', 'sync', '--json'], { cwd: root, env });
    expect(sync.code).toBe(2);
    expect(sync.json.error.code).toBe('sync_not_configured');
    expect(sync.json.error.hint).toContain('"sync"');
  });

  it('two developers and a CI client share one account: balances agree to the unit after sync', async () => {
    const [alice, bob, ci] = team.tokens.slice(0, 3).map((token) => syncClientEnv(server.url, token));
    const spent =
      (await spend(alice!, [1234, 5, 999])) +
      (await spend(bob!, [77_777])) +
      (await spend(ci!, [1, 2, 3], 'implement'));
    for (const env of [alice!, bob!, ci!]) {
      const res = cli(['credits', 'sync'], env);
      expect(res.code, res.stderr).toBe(0);
    }
    // A second round pulls what the others pushed after each one's first sync.
    for (const env of [alice!, bob!, ci!]) expect(cli(['credits', 'sync'], env).json.pushed).toBe(0);

    const serverBalance = (await api(server.url, team.tokens[0], 'GET', '/v1/balance')).json.balanceMilli;
    expect(serverBalance).toBe(1_000_000 - spent);
    for (const env of [alice!, bob!, ci!]) {
      expect(localBalanceMilli(env)).toBe(serverBalance);
      expect(cli(['credits'], env).json.balance).toBe(serverBalance / 1000);
    }
    // The CI client sees alice's spend with its member name, and grants come from the server.
    const history = cli(['credits', 'history', '--limit', '50'], ci!).json.recent;
    expect(history.some((t: { description: string }) => t.description.includes('[alice]'))).toBe(true);
    expect(history.some((t: { type: string; credits: number }) => t.type === 'grant' && t.credits === 1000)).toBe(true);
  });

  it('pushing and pulling are idempotent across repeated syncs: no row is counted twice', async () => {
    const env = syncClientEnv(server.url, team.tokens[3]!);
    await spend(env, [10, 20, 30]);
    expect(cli(['credits', 'sync'], env).json.pushed).toBe(3);
    const before = localBalanceMilli(env);
    const again = cli(['credits', 'sync'], env).json;
    expect(again).toMatchObject({ pushed: 0, pulled: 0 });
    expect(localBalanceMilli(env)).toBe(before);
  });

  it('auto-sync after a command pushes when the server is up, backs off when it is down, never throws', async () => {
    const env = syncClientEnv(server.url, team.tokens[4]!, { auto: true });
    await spend(env, [42]);
    const ledger = await Ledger.open({ file: Ledger.fileIn(env.AI_DEV_BOT_HOME!), initialGrantMilli: 500_000n });
    try {
      const settings = syncSettings(env);
      expect(await autoSync(ledger, { ...settings, url: 'http://127.0.0.1:9' }, env)).toMatchObject({
        status: 'failed',
      });
      // A second try right after a failure waits for the back-off instead of blocking another command.
      expect((await autoSync(ledger, settings, env)).status).toBe('skipped');
      const later = new Date(Date.now() + 10 * 60_000);
      const outcome = await autoSync(ledger, settings, env, later);
      expect(outcome).toMatchObject({ status: 'synced', report: { pushed: 1 } });
      expect(await autoSync(ledger, { ...settings, auto: false }, env)).toMatchObject({ status: 'skipped' });
    } finally {
      ledger.close();
    }
  });
});

describe('a team account in debt: paid calls stop until credits arrive, auto-sync brings them', () => {
  let gemini: FakeGeminiServer;
  beforeAll(async () => {
    gemini = await FakeGeminiServer.start({ apiKey: 'test-key' });
  });
  afterAll(async () => {
    await gemini?.close();
  });

  it('exits 3 without calling the model while the synced balance is negative, then plans and pushes after a grant', async () => {
    const db = path.join(tmp(), 'server.db');
    const { tokens } = makeAccount(db, 'debt', ['dev']);
    const server = await startServer(db);
    try {
      const env = cliEnvWithConfig(
        { llm: { gemini: { baseUrl: gemini.url }, maxRetries: 0 }, sync: { url: server.url, auto: true } },
        { AI_DEV_BOT_SYNC_TOKEN: tokens[0]! },
      );
      // Spent offline from the local first-use credits; the team account has none.
      await spend(env, [100_000]);
      expect(cli(['credits', 'sync'], env).json.balance).toBe(-100);
      const root = makeGitRepo({ 'src/a.ts': 'export const a = 1;\n' });
      const planJson = JSON.stringify({
        items: [{ id: 'P1', title: 'Add b', files: ['src/a.ts'], action: 'Add b.', verification: 'b exists.' }],
      });

      const refused = runCli(['plan', 'add b', '--json'], { cwd: root, env });
      expect(refused.code, refused.stderr).toBe(3);
      expect(gemini.requests).toHaveLength(0);

      // The admin grants credits; the next metered command's auto-sync pulls them.
      serverCli(['grant', '--account', 'debt', '1000'], db);
      const stillRefused = runCli(['plan', 'add b', '--json'], { cwd: root, env });
      expect(stillRefused.code).toBe(3);
      gemini.enqueue({ text: planJson, inputTokens: 4000, outputTokens: 300 });
      // Async: the fake model answers from this process, which a synchronous spawn would block.
      const planned = await runCliAsync(['plan', 'add b', '--json'], { cwd: root, env }).done;
      expect(planned.code, planned.stderr).toBe(0);
      expect(gemini.requests).toHaveLength(1);

      // Auto-sync pushed the planning call with its member, project, model and task.
      const rows = (await api(server.url, tokens[0], 'GET', '/v1/transactions?after=0')).json.transactions;
      const planning = rows.find((t: { usage: { task: string } | null }) => t.usage?.task === 'planning');
      expect(planning).toMatchObject({ member: 'dev', usage: { provider: 'gemini', inputTokens: 4000 } });
      expect(planning.project).toBe(path.basename(root));
      const serverBalance = (await api(server.url, tokens[0], 'GET', '/v1/balance')).json.balanceMilli;
      expect(localBalanceMilli(env)).toBe(serverBalance);
    } finally {
      await server.stop();
    }
  });
});

describe('an offline client, and a server killed mid-batch', () => {
  it('queues while the server is down, retries across a kill -9, and ends with exact totals and no duplicates', async () => {
    const db = path.join(tmp(), 'server.db');
    const { tokens } = makeAccount(db, 'crash', ['dev']);
    let server = await startServer(db);
    const port = new URL(server.url).port;
    await server.stop();

    const env = syncClientEnv(server.url, tokens[0]!, { batchSize: 100 });
    const amounts = Array.from({ length: 2500 }, (_, i) => 1 + (i % 97));
    const spent = await spend(env, amounts);

    // Offline: the sync fails clearly, keeps everything queued, and status says so.
    const offline = cli(['credits', 'sync'], env);
    expect(offline.code).toBe(1);
    expect(offline.json.error.code).toBe('sync_failed');
    expect(offline.json.error.message).toContain('cannot reach');
    const root = makeGitRepo({ 'a.ts': 'export const a = 1;\n' });
    const status = runCli(['status', '--json'], { cwd: root, env }).json.sync;
    expect(status).toMatchObject({ configured: true, unsynced: amounts.length, unsyncedCredits: spent / 1000 });
    expect(status.lastError).toContain('cannot reach');

    // Online again; the server is killed -9 while the client is pushing batches.
    server = await startServer(db, ['--port', port]);
    const running = cliAsync(['credits', 'sync'], env);
    const serverRows = () => {
      const s = new Database(db, { readonly: true });
      try {
        return Number((s.prepare('SELECT count(*) AS n FROM ledger_transactions').get() as { n: number }).n);
      } finally {
        s.close();
      }
    };
    const deadline = Date.now() + 60_000;
    while (serverRows() < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await server.kill9();
    expect(serverRows()).toBeLessThan(amounts.length);
    server = await startServer(db, ['--port', port]);
    try {
      const first = await running.done;
      // The client retries with back-off; if the restart took longer than its retries, a second run finishes.
      if (first.code !== 0) expect(cli(['credits', 'sync'], env).code).toBe(0);
      expect(serverRows()).toBe(amounts.length);
      const balance = (await api(server.url, tokens[0], 'GET', '/v1/balance')).json.balanceMilli;
      expect(balance).toBe(-spent);
      expect(localBalanceMilli(env)).toBe(balance);
    } finally {
      await server.stop();
    }
  });
});
