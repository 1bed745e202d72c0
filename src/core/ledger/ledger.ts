import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely, Migrator, SqliteDialect, sql, type Compilable, type Selectable } from 'kysely';
import { AppError } from '../errors.js';
import { assertStorable, MAX_CREDITS_MILLI, MAX_PRICE_NANO_PER_MTOK, MAX_USD_NANO, storedInteger } from './bounds.js';
import { formatCredits, nanoToUsd, type Price } from './money.js';
import {
  LATEST_MIGRATION,
  migrations,
  type CreditHoldsTable,
  type LedgerDatabase,
  type TransactionType,
} from './schema.js';
import { processAlive } from '../processAlive.js';

export const LEDGER_FILE = 'ledger.db';

export interface LedgerOptions {
  /** Path of the SQLite file; created with its directory if missing. */
  file: string;
  /** Milli-credits granted the first time this ledger is used (config ledger.initialGrant × 1000). */
  initialGrantMilli: bigint;
  /** How long to wait for another process's write lock before failing (ms). */
  busyTimeoutMs?: number;
  now?: () => Date;
}

export interface TransactionRecord {
  id: string;
  type: TransactionType;
  creditsMilli: bigint;
  usdCostNano: bigint | null;
  apiUsageId: string | null;
  project: string | null;
  description: string;
  createdAt: string;
  syncedAt: string | null;
}

/** One LLM call to record: ours (metered) or one that happened elsewhere (Aider). */
export interface UsageRecordInput {
  project: string | null;
  provider: string;
  model: string;
  task: string;
  inputTokens: number;
  outputTokens: number;
  costNano: bigint;
  costSource: 'provider' | 'table' | 'fallback' | 'free' | 'reservation';
  tokensEstimated: boolean;
  latencyMs: number | null;
  status: 'ok' | 'failed' | 'interrupted';
  /** Milli-credits to deduct (positive number; stored negated). */
  creditsMilli: bigint;
  description: string;
}

/** The call a hold is for: what to charge if its process dies after sending it. */
export interface HoldCharge {
  provider: string;
  model: string;
  task: string;
  project: string | null;
  costNano: bigint;
  inputTokens: number;
  outputTokens: number;
  /** Whether the request goes out right after the hold; holds placed ahead of time are never charged. */
  sent: boolean;
}

export interface RecordedUsage {
  usageId: string;
  transactionId: string;
  creditsMilli: bigint;
  costNano: bigint;
}

export interface SpendRow {
  task: string;
  provider: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costNano: bigint;
  creditsMilli: bigint;
}

export interface PriceRow {
  provider: string;
  model: string;
  inputUsdPerMtok: number;
  outputUsdPerMtok: number;
  source: string;
  updatedAt: string;
}

const HOST = os.hostname();

function isBusy(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  return code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_');
}

/**
 * The user's credit ledger: an append-only SQLite file shared by every process of the user.
 * Reads and single statements run synchronously on better-sqlite3 (kysely builds and types the
 * SQL); writes that must be atomic across processes run in `BEGIN IMMEDIATE` transactions, which
 * take SQLite's write lock up front so two processes never interleave read-check-write.
 */
export class Ledger {
  readonly db: Kysely<LedgerDatabase>;
  private readonly now: () => Date;
  private closed = false;

  private constructor(
    private readonly raw: Database.Database,
    readonly file: string,
    now: () => Date,
  ) {
    this.db = new Kysely<LedgerDatabase>({ dialect: new SqliteDialect({ database: raw }) });
    this.now = now;
  }

  static fileIn(dataDir: string): string {
    return path.join(dataDir, LEDGER_FILE);
  }

  /** Opens (creating, migrating and granting the initial credits on first use) the ledger. */
  static async open(options: LedgerOptions): Promise<Ledger> {
    mkdirSync(path.dirname(options.file), { recursive: true });
    let raw: Database.Database;
    try {
      raw = new Database(options.file, { timeout: options.busyTimeoutMs ?? 15_000 });
    } catch (error) {
      throw new AppError('internal', `Cannot open the credit ledger ${options.file}: ${(error as Error).message}`);
    }
    const ledger = new Ledger(raw, options.file, options.now ?? (() => new Date()));
    try {
      ledger.configureConnection();
      await ledger.migrateAndGrant(options.initialGrantMilli);
    } catch (error) {
      ledger.closeQuietly();
      throw error;
    }
    return ledger;
  }

  private configureConnection(): void {
    // Switching to WAL needs a moment of exclusive access; a concurrent first open can see BUSY.
    for (let attempt = 0; ; attempt++) {
      try {
        this.raw.pragma('journal_mode = WAL');
        break;
      } catch (error) {
        if (!isBusy(error) || attempt >= 50) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    // NORMAL in WAL mode survives process crashes (kill -9) without corruption; only an OS crash
    // or power loss can drop the last commits. FULL would cost ~4x in write throughput (DESIGN §9).
    this.raw.pragma('synchronous = NORMAL');
    this.raw.pragma('foreign_keys = ON');
    // SQLite's sum() fails with "integer overflow" past 2^63 and turns REAL on a single REAL row;
    // this one never fails and is exact (a bigint, returned as TEXT), whatever the rows hold.
    this.raw.aggregate('exact_sum', {
      start: 0n,
      step: (total: bigint, value: unknown) => total + storedInteger(value),
      result: (total: bigint) => total.toString(),
      safeIntegers: true,
      deterministic: true,
    });
  }

  private needsSetup(): boolean {
    const version = this.raw.pragma('user_version', { simple: true }) as number;
    if (version !== Object.keys(migrations).length) return true;
    const row = this.raw.prepare(`SELECT 1 FROM credit_transactions WHERE type = 'initial_grant' LIMIT 1`).get();
    return row === undefined;
  }

  /** Migrations and the initial grant run under one write lock, so concurrent first uses grant once. */
  private async migrateAndGrant(initialGrantMilli: bigint): Promise<void> {
    if (!this.needsSetup()) return;
    this.raw.exec('BEGIN IMMEDIATE');
    try {
      const migrator = new Migrator({
        db: this.db,
        provider: { getMigrations: async () => migrations },
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? LATEST_MIGRATION;
        throw new AppError(
          'internal',
          `Migrating the credit ledger ${this.file} failed at ${failed}: ${(error as Error).message ?? error}`,
        );
      }
      this.raw.pragma(`user_version = ${Object.keys(migrations).length}`);
      const granted = this.raw.prepare(`SELECT 1 FROM credit_transactions WHERE type = 'initial_grant' LIMIT 1`).get();
      if (!granted) {
        this.insertTransaction({
          type: 'initial_grant',
          creditsMilli: initialGrantMilli,
          description: 'initial grant on first use',
          project: null,
        });
      }
      this.raw.exec('COMMIT');
    } catch (error) {
      if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
      throw error;
    }
  }

  // --- synchronous execution of kysely-built queries -------------------------------------------

  /** Prepared statements by SQL text: preparing costs more than running these small statements. */
  private readonly statements = new Map<string, Database.Statement>();

  private statement(sqlText: string): Database.Statement {
    let stmt = this.statements.get(sqlText);
    if (!stmt) {
      stmt = this.raw.prepare(sqlText);
      this.statements.set(sqlText, stmt);
    }
    return stmt;
  }

  // all/first/run/immediate are for the ledger's own modules (syncStore.ts), not for callers.
  /** `exact`: integers come back as bigint (money columns), so none is rounded to a double. */
  all<R>(query: Compilable<R>, exact = false): R[] {
    const compiled = query.compile();
    return this.statement(compiled.sql)
      .safeIntegers(exact)
      .all(...(compiled.parameters as unknown[])) as R[];
  }

  first<R>(query: Compilable<R>, exact = false): R | undefined {
    const compiled = query.compile();
    return this.statement(compiled.sql)
      .safeIntegers(exact)
      .get(...(compiled.parameters as unknown[])) as R | undefined;
  }

  run(query: Compilable<unknown>): Database.RunResult {
    const compiled = query.compile();
    return this.statement(compiled.sql).run(...(compiled.parameters as unknown[]));
  }

  /** Runs `fn` inside BEGIN IMMEDIATE (waiting up to the busy timeout for other writers). */
  immediate<T>(fn: () => T): T {
    return this.raw.transaction(fn).immediate();
  }

  private insertTransaction(t: {
    type: TransactionType;
    creditsMilli: bigint;
    usdCostNano?: bigint | null;
    apiUsageId?: string | null;
    project: string | null;
    description: string;
  }): TransactionRecord {
    assertStorable(t.creditsMilli, MAX_CREDITS_MILLI, 'A credit amount (milli-credits)');
    if (t.usdCostNano != null) assertStorable(t.usdCostNano, MAX_USD_NANO, 'A cost (nano-USD)');
    const record: TransactionRecord = {
      id: randomUUID(),
      type: t.type,
      creditsMilli: t.creditsMilli,
      usdCostNano: t.usdCostNano ?? null,
      apiUsageId: t.apiUsageId ?? null,
      project: t.project,
      description: t.description,
      createdAt: this.now().toISOString(),
      syncedAt: null,
    };
    this.run(
      this.db.insertInto('credit_transactions').values({
        id: record.id,
        type: record.type,
        credits: record.creditsMilli,
        usd_cost: record.usdCostNano,
        api_usage_id: record.apiUsageId,
        project: record.project,
        description: record.description,
        created_at: record.createdAt,
        synced_at: null,
      }),
    );
    return record;
  }

  // --- balance ---------------------------------------------------------------------------------

  /**
   * The balance: the sum of all transactions, never a stored counter. SQLite's sum() is the fast
   * path; a ledger holding REALs or sums past 64 bits (written before bounds existed) is read with
   * exact_sum instead, so it stays readable.
   */
  balanceMilli(): bigint {
    let total: unknown;
    try {
      total = this.first(
        this.db.selectFrom('credit_transactions').select(sql<unknown>`coalesce(sum(credits), 0)`.as('total')),
        true,
      )?.total;
    } catch (error) {
      if (!/integer overflow/i.test((error as Error).message)) throw error;
    }
    if (typeof total === 'bigint') return total;
    return this.exactSum(this.db.selectFrom('credit_transactions').select(sql<string>`exact_sum(credits)`.as('total')));
  }

  private exactSum(query: Compilable<{ total: string }>): bigint {
    return storedInteger(this.first(query)?.total);
  }

  /** Milli-credits currently set aside for calls in flight (expired holds excluded). */
  heldMilli(): bigint {
    const holds = this.all(
      this.db
        .selectFrom('credit_holds')
        .select(['credits', 'pid', 'host'])
        .where('expires_at', '>', this.now().getTime()),
      true,
    );
    let total = 0n;
    for (const hold of holds) {
      const pid = Number(hold.pid);
      if (hold.host === HOST && pid !== process.pid && !processAlive(pid)) continue;
      total += storedInteger(hold.credits);
    }
    return total;
  }

  // --- grants ----------------------------------------------------------------------------------

  grant(
    creditsMilli: bigint,
    options: { type?: 'grant' | 'purchase'; description?: string; project?: string | null } = {},
  ): TransactionRecord {
    if (creditsMilli <= 0n) throw new AppError('bad_argument', 'A grant must be a positive number of credits.');
    return this.immediate(() => {
      // Checked under the write lock: the balance stays in range, so sums of the log stay small.
      const after = this.balanceMilli() + creditsMilli;
      if (after > MAX_CREDITS_MILLI)
        throw new AppError(
          'bad_argument',
          `Granting ${formatCredits(creditsMilli)} credits would take the balance to ${formatCredits(after)}, ` +
            `above the ledger's maximum of ${formatCredits(MAX_CREDITS_MILLI)} credits. Nothing was recorded.`,
          'Grant a smaller amount (see README "Limits").',
        );
      return this.insertTransaction({
        type: options.type ?? 'grant',
        creditsMilli,
        project: options.project ?? null,
        description: options.description ?? 'manual grant',
      });
    });
  }

  // --- holds -----------------------------------------------------------------------------------

  /**
   * Sets `creditsMilli` aside if balance − other holds covers it; returns the hold id, or the
   * available amount when it does not. Checked and written under one write lock.
   */
  tryHold(
    creditsMilli: bigint,
    ttlMs: number,
    charge?: HoldCharge,
  ): { ok: true; holdId: string } | { ok: false; availableMilli: bigint } {
    // A free call cannot take the balance below zero, whatever the balance is.
    if (creditsMilli === 0n) return { ok: true, holdId: '' };
    return this.immediate(() => {
      const now = this.now();
      this.dropStaleHolds(now);
      const available = this.balanceMilli() - this.heldMilli();
      if (available < creditsMilli) return { ok: false as const, availableMilli: available };
      const holdId = randomUUID();
      this.run(
        this.db.insertInto('credit_holds').values({
          id: holdId,
          credits: creditsMilli,
          expires_at: now.getTime() + ttlMs,
          pid: process.pid,
          host: HOST,
          created_at: now.toISOString(),
          provider: charge?.provider ?? null,
          model: charge?.model ?? null,
          task: charge?.task ?? null,
          project: charge?.project ?? null,
          cost: charge?.costNano ?? 0n,
          input_tokens: charge?.inputTokens ?? 0,
          output_tokens: charge?.outputTokens ?? 0,
          sent: charge?.sent ? 1 : 0,
        }),
      );
      return { ok: true as const, holdId };
    });
  }

  /** Expired holds, and holds of processes on this host that no longer exist (killed, crashed). */
  private dropStaleHolds(now: Date): void {
    // Dead processes first, expired or not: a kill long ago must still be charged.
    const local = this.all(
      this.db.selectFrom('credit_holds').selectAll().where('host', '=', HOST).where('pid', '!=', process.pid),
      true,
    );
    for (const hold of local) {
      if (processAlive(Number(hold.pid))) continue;
      this.run(this.db.deleteFrom('credit_holds').where('id', '=', hold.id));
      this.chargeAbandonedHold(hold);
    }
    this.run(this.db.deleteFrom('credit_holds').where('expires_at', '<=', now.getTime()));
  }

  /**
   * A process killed after sending its request leaves its hold behind: the provider may well have
   * served and billed the call, so the reservation (its worst-case estimate) is charged, marked as
   * such (cost_source 'reservation', status 'interrupted'). Only holds of processes on this host
   * that are verifiably dead are charged: an expired hold of another host's process is dropped
   * free, as that process may still record the real usage and must not be charged twice.
   */
  private chargeAbandonedHold(hold: Selectable<CreditHoldsTable>): void {
    const credits = storedInteger(hold.credits);
    if (!Number(hold.sent) || !hold.task || !hold.provider || !hold.model || credits <= 0n) return;
    const costNano = storedInteger(hold.cost);
    this.insertUsage(
      {
        project: hold.project,
        provider: hold.provider,
        model: hold.model,
        task: hold.task,
        inputTokens: Number(hold.input_tokens),
        outputTokens: Number(hold.output_tokens),
        costNano,
        costSource: 'reservation',
        tokensEstimated: true,
        latencyMs: null,
        status: 'interrupted',
        creditsMilli: credits,
        description:
          `${hold.task}: ${hold.provider}/${hold.model} interrupted (process ${hold.pid} ended during the call); ` +
          'charged its reservation as an estimate',
      },
      hold.id,
    );
  }

  /** Settles holds of processes that died (see chargeAbandonedHold); `credits` runs it before reporting. */
  settleAbandonedHolds(): void {
    this.immediate(() => this.dropStaleHolds(this.now()));
  }

  releaseHold(holdId: string): void {
    if (!holdId) return;
    this.immediate(() => this.run(this.db.deleteFrom('credit_holds').where('id', '=', holdId)));
  }

  // --- usage -----------------------------------------------------------------------------------

  /** Records one call and its deduction in a single transaction (and drops its hold, if any). */
  recordUsage(input: UsageRecordInput, holdId?: string): RecordedUsage {
    if (input.creditsMilli < 0n || input.costNano < 0n)
      throw new RangeError('usage cost and credits must be non-negative');
    return this.immediate(() => {
      const recorded = this.insertUsage(input, randomUUID());
      if (holdId) this.run(this.db.deleteFrom('credit_holds').where('id', '=', holdId));
      return recorded;
    });
  }

  /** The usage row and its deduction; the caller holds the write lock. */
  private insertUsage(input: UsageRecordInput, usageId: string): RecordedUsage {
    assertStorable(input.costNano, MAX_USD_NANO, `The cost of a ${input.task} call (nano-USD)`);
    const createdAt = this.now().toISOString();
    this.run(
      this.db.insertInto('api_usage').values({
        id: usageId,
        project: input.project,
        provider: input.provider,
        model: input.model,
        task: input.task,
        input_tokens: input.inputTokens,
        output_tokens: input.outputTokens,
        cost: input.costNano,
        cost_source: input.costSource,
        tokens_estimated: input.tokensEstimated ? 1 : 0,
        latency_ms: input.latencyMs === null ? null : Math.round(input.latencyMs),
        status: input.status,
        created_at: createdAt,
      }),
    );
    const tx = this.insertTransaction({
      type: 'usage_deduction',
      creditsMilli: -input.creditsMilli,
      usdCostNano: input.costNano,
      apiUsageId: usageId,
      project: input.project,
      description: input.description,
    });
    return { usageId, transactionId: tx.id, creditsMilli: input.creditsMilli, costNano: input.costNano };
  }

  // --- reports ---------------------------------------------------------------------------------

  history(limit: number): TransactionRecord[] {
    const rows = this.all(
      this.db
        .selectFrom('credit_transactions')
        .selectAll()
        // created_at is taken under the write lock, so rowid order is time order; ordering by
        // rowid spares an index that every deduction would have to update.
        .orderBy(sql`rowid`, 'desc')
        .limit(limit),
      true,
    );
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      creditsMilli: storedInteger(r.credits),
      usdCostNano: r.usd_cost === null ? null : storedInteger(r.usd_cost),
      apiUsageId: r.api_usage_id,
      project: r.project,
      description: r.description,
      createdAt: r.created_at,
      syncedAt: r.synced_at,
    }));
  }

  /** Milli-credits deducted for usage at or after `sinceIso` (e.g. today's spend for `status`). */
  spentSinceMilli(sinceIso: string): bigint {
    return -this.exactSum(
      this.db
        .selectFrom('credit_transactions')
        .select(sql<string>`exact_sum(credits)`.as('total'))
        .where('type', '=', 'usage_deduction')
        .where('created_at', '>=', sinceIso),
    );
  }

  /** Transactions not yet sent to a sync server, and when the last one was. */
  syncState(): { unsynced: number; lastSyncAt: string | null } {
    const row = this.first(
      this.db
        .selectFrom('credit_transactions')
        .select([
          sql<number>`sum(case when synced_at is null then 1 else 0 end)`.as('unsynced'),
          sql<string | null>`max(synced_at)`.as('lastSyncAt'),
        ]),
    );
    return { unsynced: row?.unsynced ?? 0, lastSyncAt: row?.lastSyncAt ?? null };
  }

  transactionCount(type?: TransactionType): number {
    let query = this.db.selectFrom('credit_transactions').select(sql<number>`count(*)`.as('n'));
    if (type) query = query.where('type', '=', type);
    return this.first(query)?.n ?? 0;
  }

  /**
   * Spend grouped by task and model; `sinceIso` limits it to calls at or after that time,
   * `project` to one repository's calls.
   */
  spendSummary(sinceIso?: string, project?: string): SpendRow[] {
    let query = this.db
      .selectFrom('api_usage as u')
      .innerJoin('credit_transactions as t', (join) =>
        join.onRef('t.api_usage_id', '=', 'u.id').on('t.type', '=', 'usage_deduction'),
      )
      .select([
        'u.task',
        'u.provider',
        'u.model',
        sql<number>`count(*)`.as('calls'),
        sql<string>`exact_sum(u.input_tokens)`.as('input_tokens'),
        sql<string>`exact_sum(u.output_tokens)`.as('output_tokens'),
        sql<string>`exact_sum(u.cost)`.as('cost'),
        sql<string>`exact_sum(t.credits)`.as('credits'),
      ])
      .groupBy(['u.task', 'u.provider', 'u.model'])
      .orderBy(sql`total(u.cost)`, 'desc');
    if (sinceIso) query = query.where('u.created_at', '>=', sinceIso);
    if (project !== undefined) query = query.where('u.project', '=', project);
    // exact_sum: a spend report must not fail on rows an older version stored out of range.
    return this.all(query).map((r) => ({
      task: r.task,
      provider: r.provider,
      model: r.model,
      calls: r.calls,
      inputTokens: Number(storedInteger(r.input_tokens)),
      outputTokens: Number(storedInteger(r.output_tokens)),
      costNano: storedInteger(r.cost),
      creditsMilli: -storedInteger(r.credits),
    }));
  }

  // --- pricing ---------------------------------------------------------------------------------

  activePrice(provider: string, model: string): Price | undefined {
    const row = this.first(
      this.db
        .selectFrom('model_pricing')
        .select(['input_usd_per_mtok', 'output_usd_per_mtok'])
        .where('provider', '=', provider)
        .where('model', '=', model)
        .where('active', '=', 1),
      true,
    );
    if (!row) return undefined;
    return {
      inputNanoPerMtok: storedInteger(row.input_usd_per_mtok),
      outputNanoPerMtok: storedInteger(row.output_usd_per_mtok),
    };
  }

  listPrices(): PriceRow[] {
    return this.all(
      this.db.selectFrom('model_pricing').selectAll().where('active', '=', 1).orderBy('provider').orderBy('model'),
      true,
    ).map((r) => ({
      provider: r.provider,
      model: r.model,
      inputUsdPerMtok: nanoToUsd(storedInteger(r.input_usd_per_mtok)),
      outputUsdPerMtok: nanoToUsd(storedInteger(r.output_usd_per_mtok)),
      source: r.source,
      updatedAt: r.created_at,
    }));
  }

  /** Puts a new price in force; the old row stays (inactive) so past charges remain explainable. */
  setPrice(provider: string, model: string, price: Price): PriceRow {
    const input = price.inputNanoPerMtok;
    const output = price.outputNanoPerMtok;
    for (const nano of [input, output]) {
      if (nano < 0n) throw new RangeError('a price must be non-negative');
      assertStorable(nano, MAX_PRICE_NANO_PER_MTOK, 'A price (nano-USD per million tokens)');
    }
    const createdAt = this.now().toISOString();
    this.immediate(() => {
      this.run(
        this.db
          .updateTable('model_pricing')
          .set({ active: 0 })
          .where('provider', '=', provider)
          .where('model', '=', model)
          .where('active', '=', 1),
      );
      this.run(
        this.db.insertInto('model_pricing').values({
          provider,
          model,
          input_usd_per_mtok: input,
          output_usd_per_mtok: output,
          active: 1,
          source: 'user',
          created_at: createdAt,
        }),
      );
    });
    return {
      provider,
      model,
      inputUsdPerMtok: nanoToUsd(input),
      outputUsdPerMtok: nanoToUsd(output),
      source: 'user',
      updatedAt: createdAt,
    };
  }

  /** SQLite's own consistency check plus the ledger's invariants; returns problems found. */
  integrityProblems(): string[] {
    const problems: string[] = [];
    const check = this.raw.pragma('integrity_check', { simple: true });
    if (check !== 'ok') problems.push(`integrity_check: ${String(check)}`);
    const orphanUsage = this.raw
      .prepare(
        `SELECT count(*) AS n FROM api_usage u WHERE NOT EXISTS
           (SELECT 1 FROM credit_transactions t WHERE t.api_usage_id = u.id AND t.type = 'usage_deduction')`,
      )
      .get() as { n: number };
    if (orphanUsage.n > 0) problems.push(`${orphanUsage.n} api_usage rows without a deduction`);
    const orphanDeductions = this.raw
      .prepare(
        `SELECT count(*) AS n FROM credit_transactions t WHERE t.type = 'usage_deduction' AND NOT EXISTS
           (SELECT 1 FROM api_usage u WHERE u.id = t.api_usage_id)`,
      )
      .get() as { n: number };
    if (orphanDeductions.n > 0) problems.push(`${orphanDeductions.n} deductions without an api_usage row`);
    return problems;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.raw.close();
  }

  private closeQuietly(): void {
    try {
      this.close();
    } catch {
      // already failing; the original error matters more
    }
  }
}
