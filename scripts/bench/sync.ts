/**
 * Team-ledger benchmark (`npm run bench:sync`). Prints, in one run:
 *  - `credits sync` of 10,000 local transactions (time, batches) to the real server on SQLite and on
 *    PostgreSQL, with the time to record those rows locally as the baseline;
 *  - server throughput and p50/p99 latency of POST /v1/transactions under 16 concurrent loopback
 *    clients: SQLite one instance (the baseline), PostgreSQL one instance, PostgreSQL two instances.
 * PostgreSQL is a throw-away cluster (scripts/setup-postgres.mjs); servers are the built bin.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Ledger } from '../../src/core/ledger/ledger.js';
import { syncLedger } from '../../src/core/ledger/sync.js';
import { HttpSyncTransport } from '../../src/core/ledger/syncTransport.js';
import { usageTransaction } from '../../test/helpers/teamServer.js';
import { startPostgres } from '../setup-postgres.mjs';

const SYNC_ROWS = Number(process.env.BENCH_SYNC_ROWS ?? 10_000);
const CLIENTS = 16;
const REQUESTS_PER_CLIENT = Number(process.env.BENCH_REQUESTS ?? 40);
const PER_BATCH = 20;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const serverBin = path.join(root, 'bin', 'ai-dev-bot-server.js');

function admin(db: string, args: string[]) {
  const res = spawnSync(process.execPath, [serverBin, ...args, '--db', db, '--json'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${args.join(' ')}: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

async function serve(db: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [serverBin, 'serve', '--db', db, '--port', '0', '--log-level', 'error', '--rate-limit', '1000000'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { url, child };
}

/** An account with `members` tokens on `db`. */
function team(db: string, members: number): string[] {
  admin(db, ['migrate']);
  const name = `bench-${randomUUID().slice(0, 8)}`;
  admin(db, ['account', 'create', name]);
  admin(db, ['grant', '--account', name, '1000000']);
  return Array.from(
    { length: members },
    (_, i) => admin(db, ['token', 'issue', '--account', name, '--member', `m${i}`]).token as string,
  );
}

async function benchSync(label: string, url: string, token: string) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-bench-sync-')), 'ledger.db');
  const ledger = await Ledger.open({ file, initialGrantMilli: 0n });
  const recordStart = performance.now();
  for (let i = 0; i < SYNC_ROWS; i++) {
    ledger.recordUsage({
      project: 'bench',
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      task: 'ask',
      inputTokens: 1000,
      outputTokens: 100,
      costNano: 550_000n,
      costSource: 'table',
      tokensEstimated: false,
      latencyMs: 100,
      status: 'ok',
      creditsMilli: 83n,
      description: 'bench',
    });
  }
  const recordMs = performance.now() - recordStart;
  const start = performance.now();
  const report = await syncLedger(ledger, new HttpSyncTransport(url, token, 60_000), {
    batchSize: 500,
    retry: { maxRetries: 2, baseDelayMs: 200, maxDelayMs: 2000 },
  });
  const ms = performance.now() - start;
  ledger.close();
  console.log(
    `sync ${SYNC_ROWS} transactions to ${label}: ${(ms / 1000).toFixed(2)} s in ${report.pushBatches} batches ` +
      `(+ pull ${report.pulled}), ${Math.round(SYNC_ROWS / (ms / 1000))} tx/s; ` +
      `baseline (recording them locally) ${(recordMs / 1000).toFixed(2)} s → ${(ms / recordMs).toFixed(2)}×`,
  );
  return ms;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function benchLoad(label: string, urls: string[], tokens: string[]) {
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    tokens.map(async (token, c) => {
      const url = urls[c % urls.length]!;
      for (let r = 0; r < REQUESTS_PER_CLIENT; r++) {
        const body = JSON.stringify({
          transactions: Array.from({ length: PER_BATCH }, () =>
            usageTransaction(83, { project: 'bench', description: 'bench' }),
          ),
        });
        const t0 = performance.now();
        const res = await fetch(`${url}/v1/transactions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`${label}: HTTP ${res.status}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const rps = latencies.length / seconds;
  return { label, rps, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function rowCount(url: string): Promise<number> {
  const client = new pg.Client(url);
  await client.connect();
  const res = await client.query('SELECT count(*)::int AS n FROM ledger_transactions');
  await client.end();
  return res.rows[0].n;
}

async function main() {
  const postgres = await startPostgres();
  const sqliteDb = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-bench-srv-')), 'server.db');
  const children: ChildProcess[] = [];
  try {
    const sqliteTokens = team(sqliteDb, CLIENTS);
    const pgTokens = team(postgres.url, CLIENTS);
    const sqliteServer = await serve(sqliteDb);
    const pgOne = await serve(postgres.url);
    const pgTwo = await serve(postgres.url);
    children.push(sqliteServer.child, pgOne.child, pgTwo.child);

    console.log(`machine: ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}; node ${process.version}`);
    await benchSync('SQLite server', sqliteServer.url, sqliteTokens[0]!);
    await benchSync('PostgreSQL server', pgOne.url, pgTokens[0]!);

    const runs = [
      await benchLoad('SQLite, 1 instance', [sqliteServer.url], sqliteTokens),
      await benchLoad('PostgreSQL, 1 instance', [pgOne.url], pgTokens),
      await benchLoad('PostgreSQL, 2 instances', [pgOne.url, pgTwo.url], pgTokens),
    ];
    const base = runs[0]!.rps;
    console.log(`\n${CLIENTS} concurrent clients × ${REQUESTS_PER_CLIENT} batches of ${PER_BATCH} transactions:`);
    for (const r of runs) {
      console.log(
        `  ${r.label.padEnd(26)} ${r.rps.toFixed(0).padStart(5)} req/s (${(r.rps * PER_BATCH).toFixed(0).padStart(6)} tx/s)` +
          `  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  ${(r.rps / base).toFixed(2)}× SQLite`,
      );
    }
    const expected = SYNC_ROWS + 2 * CLIENTS * REQUESTS_PER_CLIENT * PER_BATCH + 1;
    console.log(`PostgreSQL rows: ${await rowCount(postgres.url)} (expected ${expected})`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    postgres.stop();
  }
}

await main();
