import { sql, type ColumnType, type Generated, type Kysely, type Migration } from 'kysely';

/**
 * The team ledger's tables. Money is integer as in the local ledger (DESIGN §6): `credits` in
 * milli-credits (signed), `usd_cost` in nano-USD; both BIGINT. Timestamps are ISO-8601 UTC text so
 * the same rows read alike on SQLite and PostgreSQL.
 */
export interface AccountsTable {
  id: string;
  name: string;
  created_at: string;
}

/** A developer or a CI pipeline: spend is reported per member. */
export interface MembersTable {
  id: string;
  account_id: string;
  name: string;
  created_at: string;
  /** 'admin' sees every member's lines on the dashboard; 'member' the account totals and their own. */
  role: ColumnType<MemberRole, MemberRole | undefined, MemberRole>;
}

export type MemberRole = 'admin' | 'member';

export interface ApiTokensTable {
  id: string;
  account_id: string;
  member_id: string;
  /** sha256 of the token, hex: the token itself is shown once and never stored. */
  token_hash: string;
  created_at: string;
  revoked_at: string | null;
}

type Money = ColumnType<bigint, bigint, never>;
type NullableMoney = ColumnType<bigint | null, bigint | null, never>;

/**
 * One row per credit transaction of an account: usage pushed by clients (with the api_usage fields
 * the local ledger keeps, so a dashboard can group spend by member, repository, model and task),
 * grants and purchases made on the server. `seq` orders the account's rows for pulling.
 */
export interface LedgerTransactionsTable {
  seq: Generated<bigint>;
  account_id: string;
  id: string;
  member_id: string | null;
  type: string;
  credits: Money;
  usd_cost: NullableMoney;
  project: string | null;
  description: string;
  created_at: string;
  received_at: string;
  external_transaction_id: string | null;
  usage_id: string | null;
  provider: string | null;
  model: string | null;
  task: string | null;
  input_tokens: bigint | null;
  output_tokens: bigint | null;
  cost_source: string | null;
  tokens_estimated: number | null;
  latency_ms: bigint | null;
  usage_status: string | null;
}

/**
 * A dashboard login. Kept in the database (not a signed cookie) so that every instance behind a
 * load balancer sees it without a shared secret, logout ends it at once, and revoking the token
 * ends its sessions. Only the session id's sha256 is stored.
 */
export interface DashboardSessionsTable {
  id_hash: string;
  token_id: string;
  created_at: string;
  expires_at: string;
}

export interface ServerDatabase {
  accounts: AccountsTable;
  dashboard_sessions: DashboardSessionsTable;
  members: MembersTable;
  api_tokens: ApiTokensTable;
  ledger_transactions: LedgerTransactionsTable;
}

export type SqlDialectName = 'sqlite' | 'postgres';

/** The same migrations on both databases; only the auto-increment key differs. */
export function serverMigrations(dialect: SqlDialectName): Record<string, Migration> {
  return {
    '0001_team_ledger': {
      // Migrations see the schema as it was then, not today's ServerDatabase type.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('members')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('members_account_name', ['account_id', 'name'])
          .execute();
        await db.schema
          .createTable('api_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .execute();
        await db.schema
          .createTable('ledger_transactions')
          .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('member_id', 'text', (c) => c.references('members.id'))
          .addColumn('type', 'text', (c) =>
            c.notNull().check(sql`type IN ('initial_grant','grant','purchase','usage_deduction','sync_adjustment')`),
          )
          .addColumn('credits', 'bigint', (c) => c.notNull())
          .addColumn('usd_cost', 'bigint', (c) => c.check(sql`usd_cost >= 0`))
          .addColumn('project', 'text')
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('external_transaction_id', 'text', (c) => c.unique())
          .addColumn('usage_id', 'text')
          .addColumn('provider', 'text')
          .addColumn('model', 'text')
          .addColumn('task', 'text')
          .addColumn('input_tokens', 'bigint')
          .addColumn('output_tokens', 'bigint')
          .addColumn('cost_source', 'text')
          .addColumn('tokens_estimated', 'integer')
          .addColumn('latency_ms', 'bigint')
          .addColumn('usage_status', 'text')
          // A client's transaction UUID is unique within its account (the idempotency key).
          .addUniqueConstraint('ledger_transactions_account_id', ['account_id', 'id'])
          .execute();
        await db.schema
          .createIndex('ledger_transactions_account_seq')
          .on('ledger_transactions')
          .columns(['account_id', 'seq'])
          .execute();
      },
    },
    '0002_dashboard': {
      // No (account_id, created_at) index: SQLite then picks it for the balance query too and reads
      // the rows out of order (3x slower at 50k rows); the dashboard's scans in seq order are fast.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .alterTable('members')
          .addColumn('role', 'text', (c) =>
            c
              .notNull()
              .defaultTo('member')
              .check(sql`role IN ('admin','member')`),
          )
          .execute();
        await db.schema
          .createTable('dashboard_sessions')
          .addColumn('id_hash', 'text', (c) => c.primaryKey())
          .addColumn('token_id', 'text', (c) => c.notNull().references('api_tokens.id'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
  };
}
