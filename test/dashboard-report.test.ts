import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, issueToken, revokeToken } from '../src/server/accounts.js';
import { csvExport } from '../src/server/dashboard/csvExport.js';
import { dashboardQuery, rawDashboardQuery } from '../src/server/dashboard/dashboardQuery.js';
import { endSession, SESSION_HOURS, sessionMember, startSession } from '../src/server/dashboard/sessions.js';
import {
  balanceOutlook,
  latestTransactions,
  spendByMember,
  spendByProject,
  spendSeries,
  spendTotals,
} from '../src/server/dashboard/spendReport.js';
import { migrateServerDb, openServerDb, type ServerDb } from '../src/server/database.js';
import { creditAccount, pushTransactions } from '../src/server/teamLedger.js';
import { freshPostgresDb } from './helpers/postgres.js';
import { usageTransaction } from './helpers/teamServer.js';

const DAY = 86_400_000;
// A Wednesday: the seeded days (11-16 to 11-25, and 11-05) fall into the ISO weeks of 11-23, 11-16, 11-02.
const NOW = new Date('2026-11-25T12:00:00Z');
const MODELS = ['gemini-2.5-flash', 'claude-sonnet-4'];
const TASKS = ['plan', 'implement', 'verify'];

interface Seeded {
  member: 'alice' | 'bob';
  model: string;
  task: string;
  project: string;
  createdAt: string;
  creditsMilli: number;
  usdNano: number;
  tokens: number;
}

/** 24 usage rows over 20 days, two members, two models, three tasks, two repositories. */
const seed: Seeded[] = Array.from({ length: 24 }, (_, i) => {
  const daysAgo = i === 23 ? 20 : i % 10;
  const creditsMilli = 1000 + i * 137 + 7;
  return {
    member: i % 2 === 0 ? 'alice' : 'bob',
    model: MODELS[i % 3 === 0 ? 1 : 0]!,
    task: TASKS[i % 3]!,
    project: i % 4 < 2 ? 'web' : 'api',
    createdAt: new Date(NOW.getTime() - daysAgo * DAY - 3_600_000).toISOString(),
    creditsMilli,
    usdNano: creditsMilli * 6667 + i,
    tokens: 100 + i + (10 + i),
  };
});

const sum = (rows: Seeded[], f: (r: Seeded) => number) => BigInt(rows.reduce((a, r) => a + f(r), 0));
const credits = (rows: Seeded[]) => sum(rows, (r) => r.creditsMilli);
const GRANT = 500_000n;
const PURCHASE = 250_000n;

function mondayOf(iso: string): string {
  const d = new Date(`${iso.slice(0, 10)}T00:00:00Z`);
  return new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY).toISOString().slice(0, 10);
}

/** Expected credits per (bucket, key), summed here in JS from the seed: the oracle for the SQL. */
function expectedSeries(bucket: (r: Seeded) => string, key: (r: Seeded) => string) {
  const sums = new Map<string, bigint>();
  for (const r of seed) {
    const k = `${bucket(r)}|${key(r)}`;
    sums.set(k, (sums.get(k) ?? 0n) + BigInt(r.creditsMilli));
  }
  return [...sums].map(([k, v]) => {
    const [bucketOf, keyOf] = k.split('|') as [string, string];
    return { bucket: bucketOf, key: keyOf, creditsMilli: v };
  });
}

async function seedLedger(server: ServerDb) {
  await migrateServerDb(server);
  const acme = await createAccount(server, 'acme');
  const other = await createAccount(server, 'globex');
  const members = {
    alice: await issueToken(server, 'acme', 'alice'),
    bob: await issueToken(server, 'acme', 'bob'),
  };
  await creditAccount(server, 'grant', { accountId: acme.id, creditsMilli: GRANT, description: 'grant' });
  await creditAccount(server, 'purchase', {
    accountId: acme.id,
    creditsMilli: PURCHASE,
    description: 'purchase',
    externalTransactionId: `pay-${randomUUID()}`,
  });
  for (const name of ['alice', 'bob'] as const) {
    const rows = seed.filter((r) => r.member === name);
    await pushTransactions(
      server,
      members[name],
      rows.map((r) => {
        const t = usageTransaction(r.creditsMilli, {
          usdCostNano: r.usdNano,
          project: r.project,
          createdAt: r.createdAt,
        });
        return {
          ...t,
          usage: { ...t.usage, model: r.model, task: r.task, inputTokens: r.tokens - 10, outputTokens: 10 },
        };
      }) as never,
    );
  }
  // Another account's spend on the same models and repositories must never show in acme's figures.
  const mallory = await issueToken(server, 'globex', 'mallory');
  await pushTransactions(server, mallory, [usageTransaction(99_999, { createdAt: NOW.toISOString() })] as never);
  return { acme, other, members, mallory };
}

const targets = [
  { name: 'SQLite', database: async () => path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-dash-')), 'server.db') },
  { name: 'PostgreSQL', database: freshPostgresDb },
];

describe.each(targets)('dashboard figures on $name', ({ database }) => {
  let server: ServerDb;
  let seeded: Awaited<ReturnType<typeof seedLedger>>;
  const query = (raw: Record<string, string> = {}) => dashboardQuery(rawDashboardQuery.parse(raw));

  beforeAll(async () => {
    server = openServerDb(await database());
    seeded = await seedLedger(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('balance and burn-down: this week’s spend projected to whole days, exact integers', async () => {
    const outlook = await balanceOutlook(server, seeded.acme.id, NOW);
    const balance = GRANT + PURCHASE - credits(seed);
    const week = credits(seed.filter((r) => NOW.getTime() - Date.parse(r.createdAt) < 7 * DAY));
    expect(outlook).toEqual({ balanceMilli: balance, weekSpendMilli: week, daysLeft: (balance * 7n) / week });
    // The tables' "last 7 days" period sums the same rows.
    const since = new Date(NOW.getTime() - 7 * DAY).toISOString();
    expect((await spendTotals(server, seeded.acme.id, since)).creditsMilli).toBe(week);
    // Nothing spent in the 7 days before a later "now": no projection rather than a division by zero.
    expect((await balanceOutlook(server, seeded.acme.id, new Date(NOW.getTime() + 30 * DAY))).daysLeft).toBeUndefined();
  });

  it('tables by member and by repository sum calls, tokens, USD and credits to the unit, sorted in SQL', async () => {
    const line = (rows: Seeded[]) => ({
      calls: BigInt(rows.length),
      tokens: sum(rows, (r) => r.tokens),
      usdNano: sum(rows, (r) => r.usdNano),
      creditsMilli: credits(rows),
    });
    const byMember = await spendByMember(server, { accountId: seeded.acme.id }, { key: 'label', dir: 'asc' });
    expect(byMember.map((l) => ({ ...l, key: undefined }))).toEqual(
      (['alice', 'bob'] as const).map((m) => ({
        key: undefined,
        label: m,
        ...line(seed.filter((r) => r.member === m)),
      })),
    );
    const byProject = await spendByProject(server, { accountId: seeded.acme.id }, { key: 'creditsMilli', dir: 'asc' });
    const expected = ['api', 'web']
      .map((p) => ({ key: p, label: p, ...line(seed.filter((r) => r.project === p)) }))
      .sort((a, b) => Number(a.creditsMilli - b.creditsMilli));
    expect(byProject).toEqual(expected);
    expect(await spendTotals(server, seeded.acme.id)).toEqual(line(seed));
    // A plain member sees their own line only.
    const own = await spendByMember(
      server,
      { accountId: seeded.acme.id, onlyMemberId: seeded.members.bob.memberId },
      { key: 'calls', dir: 'desc' },
    );
    expect(own.map((l) => l.label)).toEqual(['bob']);
  });

  it('spend over time: per day by model and per ISO week (Monday) by task', async () => {
    const byDay = await spendSeries(server, seeded.acme.id, 'day', 'model', NOW);
    const sortPoints = <T extends { bucket: string; key: string }>(points: T[]) =>
      [...points].sort((a, b) => (a.bucket + a.key < b.bucket + b.key ? -1 : 1));
    expect(sortPoints(byDay)).toEqual(
      sortPoints(
        expectedSeries(
          (r) => r.createdAt.slice(0, 10),
          (r) => r.model,
        ),
      ),
    );
    const byWeek = await spendSeries(server, seeded.acme.id, 'week', 'task', NOW);
    expect(sortPoints(byWeek)).toEqual(
      sortPoints(
        expectedSeries(
          (r) => mondayOf(r.createdAt),
          (r) => r.task,
        ),
      ),
    );
    expect(new Set(byWeek.map((p) => p.bucket))).toEqual(new Set(['2026-11-23', '2026-11-16', '2026-11-02']));
  });

  it('latest transactions: filters combine, a member sees account lines and their own, never another account', async () => {
    const filter = { model: MODELS[1], memberId: seeded.members.alice.memberId };
    const rows = await latestTransactions(server, { accountId: seeded.acme.id }, filter, 100);
    const expected = seed.filter((r) => r.model === MODELS[1] && r.member === 'alice');
    expect(rows.map((r) => -r.creditsMilli).sort()).toEqual(expected.map((r) => BigInt(r.creditsMilli)).sort());
    const dated = await latestTransactions(
      server,
      { accountId: seeded.acme.id },
      { from: '2026-11-20', to: '2026-11-21' },
      100,
    );
    expect(dated.length).toBe(seed.filter((r) => r.createdAt >= '2026-11-20' && r.createdAt < '2026-11-22').length);

    const asBob = await latestTransactions(
      server,
      { accountId: seeded.acme.id, onlyMemberId: seeded.members.bob.memberId },
      {},
      100,
    );
    expect(new Set(asBob.map((r) => r.member))).toEqual(new Set(['bob', null]));
    expect(
      asBob
        .filter((r) => r.member === null)
        .map((r) => r.type)
        .sort(),
    ).toEqual(['grant', 'purchase']);
    // Bob asking for Alice's lines by id gets nothing; so does a member id of another account.
    const probe = { accountId: seeded.acme.id, onlyMemberId: seeded.members.bob.memberId };
    expect(await latestTransactions(server, probe, { memberId: seeded.members.alice.memberId }, 100)).toEqual([]);
    expect(
      await latestTransactions(server, { accountId: seeded.acme.id }, { memberId: seeded.mallory.memberId }, 100),
    ).toEqual([]);
  });

  it('CSV export carries the same exact figures, and quotes text a spreadsheet would run', async () => {
    const csv = await csvExport(
      server,
      { accountId: seeded.acme.id },
      query({ msort: 'label', mdir: 'asc' }),
      'members.csv',
    );
    const lines = csv
      .trim()
      .split('\r\n')
      .map((l) => l.split(','));
    expect(lines[0]).toEqual(['member', 'calls', 'tokens', 'usd_nano', 'usd', 'credits_milli', 'credits']);
    const alice = seed.filter((r) => r.member === 'alice');
    expect(lines[1]![0]).toBe('alice');
    expect(lines[1]![5]).toBe(String(credits(alice)));
    expect(lines[1]![6]).toBe(`${credits(alice) / 1000n}.${String(credits(alice) % 1000n).padStart(3, '0')}`);
    const tx = await csvExport(server, { accountId: seeded.acme.id }, query(), 'transactions.csv');
    const rows = tx.trim().split('\r\n').slice(1);
    expect(rows.length).toBe(seed.length + 2);
    const total = rows.reduce((a, r) => a + BigInt(r.split(',')[9]!), 0n);
    expect(total).toBe(GRANT + PURCHASE - credits(seed));
  });

  it('sessions: a token signs in with its role; expiry, sign-out and revoking the token end the session', async () => {
    const lead = await issueToken(server, 'acme', 'lead', { role: 'admin' });
    expect((await startSession(server, 'adbt_unknown'))?.member).toBeUndefined();
    const started = (await startSession(server, lead.token, NOW))!;
    expect(await sessionMember(server, started.sessionId, NOW)).toMatchObject({ memberName: 'lead', role: 'admin' });
    const later = new Date(NOW.getTime() + SESSION_HOURS * 3_600_000 + 1000);
    expect(await sessionMember(server, started.sessionId, later)).toBeUndefined();
    // A later token for the same member without --role keeps the admin role; --role member demotes.
    expect((await issueToken(server, 'acme', 'lead')).role).toBe('admin');
    const demoted = await issueToken(server, 'acme', 'lead', { role: 'member' });
    const second = (await startSession(server, demoted.token, NOW))!;
    expect(second.member.role).toBe('member');
    await endSession(server, second.sessionId);
    expect(await sessionMember(server, second.sessionId, NOW)).toBeUndefined();
    const third = (await startSession(server, demoted.token, NOW))!;
    await revokeToken(server, demoted.tokenId);
    expect(await sessionMember(server, third.sessionId, NOW)).toBeUndefined();
  });
});
