import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MONEY } from '../src/core/ledger/syncProtocol.js';
import {
  ADMIN_TOKEN,
  api,
  makeAccount,
  postOversized,
  serverCli,
  startServer,
  usageTransaction,
  type RunningServer,
} from './helpers/teamServer.js';
import { freshPostgresDb } from './helpers/postgres.js';

const RATE_LIMIT = 40;

const targets = [
  { name: 'SQLite', database: async () => path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-server-')), 'server.db') },
  { name: 'PostgreSQL', database: freshPostgresDb },
];

describe.each(targets)('ai-dev-bot-server HTTP API on $name', ({ database }) => {
  let db: string;
  let server: RunningServer;
  let acme: { accountId: string; tokens: string[] };
  let other: { accountId: string; tokens: string[] };

  beforeAll(async () => {
    db = await database();
    acme = makeAccount(db, 'acme', ['alice', 'bob', 'carol', 'ci']);
    other = makeAccount(db, 'other', ['mallory']);
    expect(serverCli(['grant', '--account', 'acme', '1000'], db).json.balanceMilli).toBe(1_000_000);
    server = await startServer(db, ['--rate-limit', String(RATE_LIMIT)]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const balance = async (token: string) => (await api(server.url, token, 'GET', '/v1/balance')).json.balanceMilli;

  it('a batch pushed twice is recorded once and both answers agree', async () => {
    const before = await balance(acme.tokens[0]!);
    const batch = { transactions: [usageTransaction(1500), usageTransaction(2500), usageTransaction(0)] };
    const first = await api(server.url, acme.tokens[0], 'POST', '/v1/transactions', batch);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ accepted: 3, duplicates: 0, balanceMilli: before - 4000 });
    const again = await api(server.url, acme.tokens[0], 'POST', '/v1/transactions', batch);
    expect(again.json).toMatchObject({ accepted: 0, duplicates: 3, balanceMilli: before - 4000 });

    const pulled = await api(server.url, acme.tokens[1], 'GET', '/v1/transactions?after=0');
    const ids = pulled.json.transactions.map((t: { id: string }) => t.id);
    for (const t of batch.transactions) expect(ids.filter((id: string) => id === t.id)).toHaveLength(1);
    const mine = pulled.json.transactions.find((t: { id: string }) => t.id === batch.transactions[0]!.id);
    // Everything a dashboard needs to group spend: member, repository, provider, model, task, tokens.
    expect(mine).toMatchObject({
      member: 'alice',
      project: 'demo-repo',
      usage: { provider: 'gemini', model: 'gemini-2.5-flash', task: 'ask', inputTokens: 1200, outputTokens: 300 },
    });
  });

  it('a reused transaction id with different content is refused and the whole batch rolls back', async () => {
    const before = await balance(acme.tokens[0]!);
    const t = usageTransaction(100);
    await api(server.url, acme.tokens[0], 'POST', '/v1/transactions', { transactions: [t] });
    const tampered = { ...t, creditsMilli: -1 };
    const res = await api(server.url, acme.tokens[0], 'POST', '/v1/transactions', {
      transactions: [usageTransaction(7), tampered],
    });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe('id_conflict');
    expect(await balance(acme.tokens[0]!)).toBe(before - 100);
  });

  it('four members pushing concurrently give the exact total, and pulling pages through every row once', async () => {
    const before = await balance(acme.tokens[0]!);
    const startCursor = (await api(server.url, acme.tokens[0], 'GET', '/v1/balance')).json.cursor;
    const perClient = 8;
    const perBatch = 25;
    let expected = 0;
    const pushes = acme.tokens.map(async (token, c) => {
      for (let b = 0; b < perClient; b++) {
        const transactions = Array.from({ length: perBatch }, (_, i) => usageTransaction(1 + c * 1000 + b * 31 + i));
        for (const t of transactions) expected -= t.creditsMilli;
        const res = await api(server.url, token, 'POST', '/v1/transactions', { transactions });
        expect(res.status).toBe(200);
      }
    });
    await Promise.all(pushes);
    expect(await balance(acme.tokens[2]!)).toBe(before - expected);

    const seen = new Set<string>();
    let cursor = startCursor;
    let lastCursor = BigInt(startCursor);
    for (;;) {
      const page = await api(server.url, acme.tokens[3], 'GET', `/v1/transactions?after=${cursor}&limit=150`);
      for (const t of page.json.transactions) {
        expect(BigInt(t.cursor)).toBeGreaterThan(lastCursor);
        lastCursor = BigInt(t.cursor);
        seen.add(t.id);
      }
      cursor = page.json.cursor;
      if (!page.json.hasMore) break;
    }
    expect(seen.size).toBe(acme.tokens.length * perClient * perBatch);
  });

  it('rejects a missing, wrong or revoked token with 401', async () => {
    expect((await api(server.url, undefined, 'GET', '/v1/balance')).status).toBe(401);
    const wrong = await api(server.url, 'adbt_not-a-real-token', 'GET', '/v1/balance');
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('unauthorized');

    const issued = serverCli(['token', 'issue', '--account', 'acme', '--member', 'leaver'], db).json;
    expect((await api(server.url, issued.token, 'GET', '/v1/balance')).status).toBe(200);
    expect(serverCli(['token', 'revoke', issued.tokenId], db).code).toBe(0);
    const revoked = await api(server.url, issued.token, 'POST', '/v1/transactions', {
      transactions: [usageTransaction(5)],
    });
    expect(revoked.status).toBe(401);
  });

  it("a token of one account neither reads nor touches another account's ledger", async () => {
    const acmeBefore = await balance(acme.tokens[0]!);
    const acmeRows = (await api(server.url, acme.tokens[0], 'GET', '/v1/transactions?after=0&limit=1000')).json;
    const victim = acmeRows.transactions.find((t: { type: string }) => t.type === 'usage_deduction');

    const mallory = other.tokens[0]!;
    const own = await api(server.url, mallory, 'GET', '/v1/transactions?after=0');
    expect(own.json.transactions).toEqual([]);
    expect((await api(server.url, mallory, 'GET', '/v1/balance')).json.account.name).toBe('other');
    // Re-using a UUID of the other account records a transaction in mallory's own account only.
    const replay = await api(server.url, mallory, 'POST', '/v1/transactions', {
      transactions: [usageTransaction(3, { id: victim.id })],
    });
    expect(replay.json).toMatchObject({ accepted: 1, duplicates: 0, balanceMilli: -3 });
    expect(await balance(acme.tokens[0]!)).toBe(acmeBefore);
    // Member tokens cannot use admin routes (grants, purchases, token issue).
    const grant = await api(server.url, mallory, 'POST', '/v1/admin/grants', {
      accountId: other.accountId,
      creditsMilli: 1000,
    });
    expect(grant.status).toBe(401);
    expect(JSON.stringify(grant.json)).not.toContain(acme.accountId);
  });

  it('accepts usage that takes the balance below zero (offline spend is real spend)', async () => {
    const poor = makeAccount(db, 'poor', ['dev']);
    const res = await api(server.url, poor.tokens[0], 'POST', '/v1/transactions', {
      transactions: [usageTransaction(2500)],
    });
    expect(res.status).toBe(200);
    expect(res.json.balanceMilli).toBe(-2500);
  });

  it('answers 400 with a code for malformed JSON and bad fields, 413 for an oversized body', async () => {
    const token = acme.tokens[1]!;
    const malformed = await api(server.url, token, 'POST', '/v1/transactions', '{"transactions": [');
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe('bad_json');

    for (const bad of [
      { creditsMilli: -1.5 },
      { creditsMilli: -(MAX_MONEY + 1) },
      { creditsMilli: 100 },
      { usdCostNano: -1 },
      { type: 'grant' },
      { id: 'not-a-uuid' },
    ]) {
      const res = await api(server.url, token, 'POST', '/v1/transactions', {
        transactions: [usageTransaction(1, bad)],
      });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.json.error.code).toBe('bad_request');
    }
    const tooMany = Array.from({ length: 1001 }, () => usageTransaction(1));
    expect((await api(server.url, token, 'POST', '/v1/transactions', { transactions: tooMany })).status).toBe(400);

    const huge = { transactions: [usageTransaction(1, { description: 'x'.repeat(2 * 1024 * 1024) })] };
    const tooBig = await postOversized(server.url, token, '/v1/transactions', JSON.stringify(huge));
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error.code).toBe('body_too_large');
  });

  it('credits a purchase with the same external id once', async () => {
    const before = await balance(acme.tokens[0]!);
    const purchase = { accountId: acme.accountId, creditsMilli: 50_000, externalTransactionId: 'pi_3Qx-42' };
    const first = await api(server.url, ADMIN_TOKEN, 'POST', '/v1/purchases', purchase);
    expect(first.json).toMatchObject({ duplicate: false, balanceMilli: before + 50_000 });
    const second = await api(server.url, ADMIN_TOKEN, 'POST', '/v1/purchases', purchase);
    expect(second.json).toMatchObject({
      duplicate: true,
      transactionId: first.json.transactionId,
      balanceMilli: before + 50_000,
    });
    const conflicting = await api(server.url, ADMIN_TOKEN, 'POST', '/v1/purchases', { ...purchase, creditsMilli: 1 });
    expect(conflicting.status).toBe(409);
    expect(await balance(acme.tokens[0]!)).toBe(before + 50_000);
  });

  it('limits each token to --rate-limit requests a minute with 429 and Retry-After', async () => {
    const token = serverCli(['token', 'issue', '--account', 'acme', '--member', 'hammer'], db).json.token;
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof api>> | undefined;
    for (let i = 0; i < RATE_LIMIT + 1; i++) {
      const res = await api(server.url, token, 'GET', '/v1/balance');
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses.slice(0, RATE_LIMIT).every((s) => s === 200)).toBe(true);
    expect(limited?.json.error.code).toBe('rate_limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another member of the same account is not affected.
    expect((await api(server.url, acme.tokens[0], 'GET', '/v1/balance')).status).toBe(200);
  });

  it('the admin token manages accounts and tokens over HTTP; a token revoked there stops working', async () => {
    expect((await api(server.url, 'wrong-admin-token', 'GET', '/v1/admin/accounts')).status).toBe(401);
    const created = await api(server.url, ADMIN_TOKEN, 'POST', '/v1/admin/accounts', { name: 'via-http' });
    expect(created.status).toBe(200);
    expect((await api(server.url, ADMIN_TOKEN, 'POST', '/v1/admin/accounts', { name: 'via-http' })).status).toBe(409);
    const listed = (await api(server.url, ADMIN_TOKEN, 'GET', '/v1/admin/accounts')).json.accounts;
    expect(listed.map((a: { name: string }) => a.name)).toContain('via-http');

    const issued = (
      await api(server.url, ADMIN_TOKEN, 'POST', '/v1/admin/tokens', { accountId: 'via-http', member: 'ci' })
    ).json;
    expect(issued.token).toMatch(/^adbt_[A-Za-z0-9_-]{43}$/);
    const granted = await api(server.url, ADMIN_TOKEN, 'POST', '/v1/admin/grants', {
      accountId: created.json.id,
      creditsMilli: 2500,
    });
    expect(granted.json.balanceMilli).toBe(2500);
    expect((await api(server.url, issued.token, 'GET', '/v1/balance')).json).toMatchObject({
      balanceMilli: 2500,
      member: { name: 'ci' },
    });
    expect((await api(server.url, ADMIN_TOKEN, 'DELETE', `/v1/admin/tokens/${issued.tokenId}`)).json).toEqual({
      revoked: true,
    });
    expect((await api(server.url, issued.token, 'GET', '/v1/balance')).status).toBe(401);
  });

  it('serves health, readiness and an OpenAPI document generated from the route schemas', async () => {
    expect((await api(server.url, undefined, 'GET', '/healthz')).json).toEqual({ ok: true });
    expect((await api(server.url, undefined, 'GET', '/readyz')).json).toEqual({ ok: true });
    const doc = (await api(server.url, undefined, 'GET', '/openapi.json')).json;
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/transactions', '/v1/balance', '/v1/purchases']),
    );
    const push = doc.paths['/v1/transactions'].post.requestBody.content['application/json'].schema;
    expect(push.properties.transactions.maxItems).toBe(1000);
  });
});
