import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { serverMigrations, type ServerDatabase, type SqlDialectName } from './schema.js';

export interface ServerDb {
  db: Kysely<ServerDatabase>;
  dialect: SqlDialectName;
  /** Where it is, without a password (for logs). */
  label: string;
  close(): Promise<void>;
}

const PG_INT8 = 20;
const PG_NUMERIC = 1700;

/** `postgres://…` or `postgresql://…` selects PostgreSQL; anything else is a SQLite file path. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}

function openPostgres(url: string, poolSize: number): ServerDb {
  // BIGINT (and SUM over it, NUMERIC) arrive as strings from pg; money must stay exact, so parse
  // them to bigint for this pool only instead of changing pg's process-wide parsers.
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === PG_INT8 || oid === PG_NUMERIC
        ? (value: string) => BigInt(value)
        : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types });
  // An idle client losing its connection (a database restart) must not crash the server: the pool
  // drops that client and the next query opens a new one; /readyz reports the outage meanwhile.
  pool.on('error', (error) =>
    process.stderr.write(`ai-dev-bot-server: idle database connection lost: ${error.message}\n`),
  );
  const db = new Kysely<ServerDatabase>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', label: redactUrl(url), close: () => db.destroy() };
}

function openSqlite(file: string): ServerDb {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const raw = new Database(file, { timeout: 15_000 });
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  // Integers come back as bigint, as they do from PostgreSQL with the parser above.
  raw.defaultSafeIntegers(true);
  const db = new Kysely<ServerDatabase>({ dialect: new SqliteDialect({ database: raw }) });
  return { db, dialect: 'sqlite', label: path.resolve(file), close: () => db.destroy() };
}

export function openServerDb(target: string, options: { poolSize?: number } = {}): ServerDb {
  return isPostgresUrl(target) ? openPostgres(target, options.poolSize ?? 10) : openSqlite(target);
}

/**
 * Applies pending migrations. Safe to run from several instances at once: kysely's migrator takes
 * an advisory lock on PostgreSQL (and SQLite has one writer).
 */
export async function migrateServerDb(server: ServerDb): Promise<string[]> {
  const migrator = new Migrator({
    db: server.db,
    provider: { getMigrations: async () => serverMigrations(server.dialect) },
    migrationTableName: 'server_migrations',
    migrationLockTableName: 'server_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? '(unknown)';
    throw new Error(`Migrating ${server.label} failed at ${failed}: ${(error as Error).message ?? String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function pingServerDb(server: ServerDb): Promise<void> {
  await sql`select 1`.execute(server.db);
}
