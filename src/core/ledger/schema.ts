import { sql, type ColumnType, type Generated, type Kysely, type Migration } from 'kysely';

/**
 * A money column (see bounds.ts for its range). Written as an exact bigint; read with safe integers
 * on, so an INTEGER comes back as a bigint, but a row from an older version or a hand edit may hold
 * a REAL or TEXT: read it through `storedInteger`, never `BigInt(...)` directly.
 */
export type MoneyColumn = ColumnType<bigint | number | string, bigint, bigint>;
export type NullableMoneyColumn = ColumnType<bigint | number | string | null, bigint | null, bigint | null>;

/**
 * The ledger's tables (DESIGN §6). Units: `*_usd_per_mtok` are nano-USD per million tokens,
 * `cost`/`usd_cost` nano-USD, `credits` milli-credits (signed: grants > 0, deductions < 0).
 * Timestamps are ISO-8601 UTC strings.
 */
export interface ModelPricingTable {
  id: Generated<number>;
  provider: string;
  model: string;
  input_usd_per_mtok: MoneyColumn;
  output_usd_per_mtok: MoneyColumn;
  /** 1 for the price in force; older prices stay with 0 so past charges can be explained. */
  active: number;
  /** "seed 2026-11" or "user". */
  source: string;
  created_at: string;
}

export interface ApiUsageTable {
  id: string;
  project: string | null;
  provider: string;
  model: string;
  task: string;
  input_tokens: number;
  output_tokens: number;
  cost: MoneyColumn;
  /**
   * provider (reported by the API) | table | fallback (unknown model) | free (priced 0) |
   * reservation (a call whose process died after sending it: its reservation, an estimate).
   */
  cost_source: string;
  /** 1 when the provider reported no token counts and ours were used. */
  tokens_estimated: number;
  latency_ms: number | null;
  /** ok | failed (a failed call the provider still billed) | interrupted (its process was killed). */
  status: string;
  created_at: string;
}

export type TransactionType = 'initial_grant' | 'grant' | 'purchase' | 'usage_deduction' | 'sync_adjustment';
export const transactionTypes: readonly TransactionType[] = [
  'initial_grant',
  'grant',
  'purchase',
  'usage_deduction',
  'sync_adjustment',
];

export interface CreditTransactionsTable {
  id: string;
  type: TransactionType;
  credits: MoneyColumn;
  usd_cost: NullableMoneyColumn;
  api_usage_id: string | null;
  project: string | null;
  description: string;
  created_at: string;
  synced_at: string | null;
}

/**
 * Credits set aside for calls in flight, so two processes cannot both spend the last credits.
 * Not part of the balance; a crashed process's hold simply expires.
 */
export interface CreditHoldsTable {
  id: string;
  credits: MoneyColumn;
  expires_at: number;
  /** Process and host that placed the hold: a hold of a dead local process is dropped at once. */
  pid: number;
  host: string;
  created_at: string;
  /** The call the hold is for (null on holds from before 0003): charged if its process dies after sending. */
  provider: string | null;
  model: string | null;
  task: string | null;
  project: string | null;
  /** Estimated cost (nano-USD) and token counts behind `credits`. */
  cost: MoneyColumn;
  input_tokens: number;
  output_tokens: number;
  /** 1 once the request may have reached the provider. */
  sent: number;
}

export interface LedgerDatabase {
  model_pricing: ModelPricingTable;
  api_usage: ApiUsageTable;
  credit_transactions: CreditTransactionsTable;
  credit_holds: CreditHoldsTable;
}

/**
 * Public list prices in USD per million tokens, looked up 2026-11 (Google AI for Developers
 * pricing page; OpenRouter model pages). Gemini 2.5 Pro's >200k-token prompt tier is not
 * modelled: such prompts are charged at the ≤200k rate. Change them with `pricing set`.
 */
export const SEED_PRICES_2026_11: ReadonlyArray<{ provider: string; model: string; input: number; output: number }> = [
  { provider: 'gemini', model: 'gemini-2.5-pro', input: 1.25, output: 10 },
  { provider: 'gemini', model: 'gemini-2.5-flash', input: 0.3, output: 2.5 },
  { provider: 'gemini', model: 'gemini-2.5-flash-lite', input: 0.1, output: 0.4 },
  { provider: 'gemini', model: 'gemini-3-pro-preview', input: 2, output: 12 },
  { provider: 'openrouter', model: 'anthropic/claude-sonnet-4.5', input: 3, output: 15 },
  { provider: 'openrouter', model: 'openai/gpt-4o-mini', input: 0.15, output: 0.6 },
  { provider: 'openrouter', model: 'openai/gpt-4o', input: 2.5, output: 10 },
  { provider: 'openrouter', model: 'google/gemini-2.5-flash', input: 0.3, output: 2.5 },
  { provider: 'openrouter', model: 'google/gemini-2.5-pro', input: 1.25, output: 10 },
  { provider: 'openai', model: 'gpt-4o-mini', input: 0.15, output: 0.6 },
  { provider: 'openai', model: 'gpt-4o', input: 2.5, output: 10 },
];
export const SEED_SOURCE = 'seed 2026-11';

const nano = (usdPerMtok: number) => Math.round(Number((usdPerMtok * 1e9).toPrecision(15)));

/** In-code migrations, applied in name order by kysely's Migrator. Never edit a shipped one. */
export const migrations: Record<string, Migration> = {
  '0001_ledger': {
    // Migrations see the schema as it was then, not today's LedgerDatabase type.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('model_pricing')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('input_usd_per_mtok', 'integer', (c) => c.notNull().check(sql`input_usd_per_mtok >= 0`))
        .addColumn('output_usd_per_mtok', 'integer', (c) => c.notNull().check(sql`output_usd_per_mtok >= 0`))
        .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // At most one price in force per model.
      await sql`CREATE UNIQUE INDEX model_pricing_active ON model_pricing (provider, model) WHERE active = 1`.execute(
        db,
      );

      await db.schema
        .createTable('api_usage')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project', 'text')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('task', 'text', (c) => c.notNull())
        .addColumn('input_tokens', 'integer', (c) => c.notNull())
        .addColumn('output_tokens', 'integer', (c) => c.notNull())
        .addColumn('cost', 'integer', (c) => c.notNull().check(sql`cost >= 0`))
        .addColumn('cost_source', 'text', (c) => c.notNull())
        .addColumn('tokens_estimated', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('latency_ms', 'integer')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('api_usage_created').on('api_usage').column('created_at').execute();

      await db.schema
        .createTable('credit_transactions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) =>
          c.notNull().check(sql`type IN ('initial_grant','grant','purchase','usage_deduction','sync_adjustment')`),
        )
        .addColumn('credits', 'integer', (c) => c.notNull())
        .addColumn('usd_cost', 'integer')
        .addColumn('api_usage_id', 'text', (c) => c.references('api_usage.id'))
        .addColumn('project', 'text')
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('synced_at', 'text')
        .execute();
      await db.schema
        .createIndex('credit_transactions_created')
        .on('credit_transactions')
        .column('created_at')
        .execute();
      await db.schema
        .createIndex('credit_transactions_usage')
        .on('credit_transactions')
        .column('api_usage_id')
        .execute();
      // Append-only, enforced by SQLite itself: only `synced_at` may be filled in later (by sync).
      await sql`CREATE TRIGGER credit_transactions_no_delete BEFORE DELETE ON credit_transactions
        BEGIN SELECT RAISE(ABORT, 'credit_transactions is append-only'); END`.execute(db);
      await sql`CREATE TRIGGER credit_transactions_no_update
        BEFORE UPDATE OF id, type, credits, usd_cost, api_usage_id, project, description, created_at ON credit_transactions
        BEGIN SELECT RAISE(ABORT, 'credit_transactions is append-only'); END`.execute(db);
      await sql`CREATE TRIGGER api_usage_no_delete BEFORE DELETE ON api_usage
        BEGIN SELECT RAISE(ABORT, 'api_usage is append-only'); END`.execute(db);

      await db.schema
        .createTable('credit_holds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('credits', 'integer', (c) => c.notNull().check(sql`credits >= 0`))
        .addColumn('expires_at', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      const now = new Date().toISOString();
      await db
        .insertInto('model_pricing')
        .values(
          SEED_PRICES_2026_11.map((p) => ({
            provider: p.provider,
            model: p.model,
            input_usd_per_mtok: nano(p.input),
            output_usd_per_mtok: nano(p.output),
            active: 1,
            source: SEED_SOURCE,
            created_at: now,
          })),
        )
        .execute();
    },
  },
  '0002_hold_owner_drop_created_index': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      // Holds remember their process so a dead process's hold stops counting at once.
      // Rows from before have pid 0 / host '' and simply wait for their expiry.
      await db.schema
        .alterTable('credit_holds')
        .addColumn('pid', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('credit_holds')
        .addColumn('host', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      // History is ordered by rowid (time order: created_at is taken under the write lock), so this
      // index only cost every deduction a B-tree update.
      await db.schema.dropIndex('credit_transactions_created').ifExists().execute();
    },
  },
  '0003_hold_charge': {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>) {
      // A hold now describes its call, so a call whose process was killed after sending it (the
      // provider served and billed it) can be charged its reservation as an estimate.
      for (const column of ['provider', 'model', 'task', 'project'])
        await db.schema.alterTable('credit_holds').addColumn(column, 'text').execute();
      for (const column of ['cost', 'input_tokens', 'output_tokens', 'sent'])
        await db.schema
          .alterTable('credit_holds')
          .addColumn(column, 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
    },
  },
};

export const LATEST_MIGRATION = Object.keys(migrations).sort().at(-1)!;
