import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** A new, empty database on the run's PostgreSQL server (test/global-setup.ts); returns its URL. */
export async function freshPostgresDb(): Promise<string> {
  const base = inject('postgresUrl');
  const name = `aidb_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client(base);
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}
