import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDb } from './helpers/postgres.js';
import { cli, localBalanceMilli, spend, syncClientEnv } from './helpers/syncClient.js';
import {
  ADMIN_TOKEN,
  api,
  makeAccount,
  serverCli,
  startServer,
  usageTransaction,
  type RunningServer,
} from './helpers/teamServer.js';

describe('two server instances on one PostgreSQL', () => {
  let db: string;
  let instances: RunningServer[] = [];
  let team: { accountId: string; tokens: string[] };

  beforeAll(async () => {
    db = await freshPostgresDb();
    expect(serverCli(['migrate'], db).code).toBe(0);
    team = makeAccount(db, 'team', ['alice', 'bob', 'ci', 'load-1', 'load-2', 'load-3', 'load-4']);
    serverCli(['grant', '--account', 'team', '2000'], db);
    // --no-migrate: the schema comes from `migrate` (as the Kubernetes migration Job does it).
    instances = await Promise.all([startServer(db, ['--no-migrate']), startServer(db, ['--no-migrate'])]);
  });
  afterAll(async () => {
    await Promise.all(instances.map((s) => s.stop()));
  });

  it('four clients pushing concurrently through both instances give exact totals', async () => {
    const before = (await api(instances[0]!.url, team.tokens[3], 'GET', '/v1/balance')).json.balanceMilli;
    let expected = 0;
    const loadTokens = team.tokens.slice(3);
    await Promise.all(
      loadTokens.map(async (token, c) => {
        for (let b = 0; b < 6; b++) {
          const transactions = Array.from({ length: 40 }, (_, i) => usageTransaction(1 + c * 7 + b * 13 + i));
          for (const t of transactions) expected -= t.creditsMilli;
          const target = instances[(b + c) % 2]!;
          const res = await api(target.url, token, 'POST', '/v1/transactions', { transactions });
          expect(res.status, JSON.stringify(res.json)).toBe(200);
          // The same batch retried through the other instance changes nothing.
          if (b === 0) {
            const retry = await api(instances[(b + c + 1) % 2]!.url, token, 'POST', '/v1/transactions', {
              transactions,
            });
            expect(retry.json).toMatchObject({ accepted: 0, duplicates: 40 });
          }
        }
      }),
    );
    for (const server of instances) {
      expect((await api(server.url, team.tokens[0], 'GET', '/v1/balance')).json.balanceMilli).toBe(before - expected);
    }
  });

  it('keeps BIGINT money exact through the pg driver (no float rounding near the bound)', async () => {
    const big = 999_999_999_999_999;
    const before = (await api(instances[1]!.url, team.tokens[0], 'GET', '/v1/balance')).json.balanceMilli;
    const res = await api(instances[0]!.url, ADMIN_TOKEN, 'POST', '/v1/purchases', {
      accountId: team.accountId,
      creditsMilli: big,
      externalTransactionId: 'big-one',
    });
    expect(res.json.balanceMilli).toBe(before + big);
    const spendBack = await api(instances[1]!.url, team.tokens[3], 'POST', '/v1/transactions', {
      transactions: [usageTransaction(big, { usdCostNano: 1 })],
    });
    expect(spendBack.json.balanceMilli).toBe(before);
  });

  it('two developers and a CI client on different instances agree with the server to the unit', async () => {
    const [one, two] = instances;
    const alice = syncClientEnv(one!.url, team.tokens[0]!);
    const bob = syncClientEnv(two!.url, team.tokens[1]!);
    const ci = syncClientEnv(two!.url, team.tokens[2]!);
    await spend(alice, [1111, 2222]);
    await spend(bob, [3]);
    await spend(ci, [40_000, 1], 'implement');
    for (const round of [1, 2]) {
      for (const env of [alice, bob, ci]) {
        const res = cli(['credits', 'sync'], env);
        expect(res.code, `round ${round}: ${res.stderr}`).toBe(0);
      }
    }
    const server = (await api(two!.url, team.tokens[2], 'GET', '/v1/balance')).json.balanceMilli;
    for (const env of [alice, bob, ci]) expect(localBalanceMilli(env)).toBe(server);
    expect(cli(['credits'], ci).json.balance).toBe(server / 1000);
  });
});

describe('a server whose PostgreSQL is unreachable', () => {
  it('stays alive: healthz 200, readyz 503, requests fail with 500 without leaking the database URL', async () => {
    const server = await startServer('postgres://ledger:s3cret-pw@127.0.0.1:1/ledger', ['--no-migrate']);
    try {
      expect((await api(server.url, undefined, 'GET', '/healthz')).status).toBe(200);
      const ready = await api(server.url, undefined, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.json.error.code).toBe('db_unreachable');
      const push = await api(server.url, 'adbt_some-token', 'GET', '/v1/balance');
      expect(push.status).toBe(500);
      expect(JSON.stringify(push.json)).not.toContain('s3cret');
      expect(server.output()).not.toContain('s3cret');
    } finally {
      await server.stop();
    }
  });
});
