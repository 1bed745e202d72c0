#!/usr/bin/env node
// A throw-away PostgreSQL server for the team-ledger tests and `npm run bench:sync`: the Debian
// `postgresql` package (installed with apt-get when missing, as root), a cluster initialised in a
// temp dir, run as the unprivileged `postgres` user (PostgreSQL refuses to run as root), on a free
// loopback port with trust auth and fsync off (test data only). Fast when already installed:
// initdb + start take a few seconds.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const PG_ROOT = '/usr/lib/postgresql';
const RUN_AS = 'postgres';

function pgBinDir() {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(path.join(PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(PG_ROOT, versions[0], 'bin') : undefined;
}

const isRoot = () => process.getuid?.() === 0;

function aptInstall() {
  if (!isRoot()) {
    throw new Error(
      'PostgreSQL is not installed and this is not root: run `sudo apt-get install -y postgresql` (the tests need its server binaries).',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { env, stdio: 'inherit' });
  if (install().status !== 0) {
    execFileSync('apt-get', ['update'], { env, stdio: 'inherit' });
    if (install().status !== 0) throw new Error('apt-get install -y postgresql failed');
  }
}

/** The server binaries, installing the package when missing. */
export function ensurePostgresInstalled() {
  let bin = pgBinDir();
  if (!bin) {
    aptInstall();
    bin = pgBinDir();
  }
  if (!bin) throw new Error(`PostgreSQL binaries not found under ${PG_ROOT} after installing`);
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary as the unprivileged user when we are root, as ourselves otherwise. */
function runPg(bin, tool, args) {
  const file = path.join(bin, tool);
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', RUN_AS, '--', file, ...args]] : [file, args];
  const res = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  if (res.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/**
 * Starts a fresh cluster; returns its URL (database `postgres`, user `postgres`) and a stop
 * function that shuts it down and removes the directory.
 */
export async function startPostgres() {
  const bin = ensurePostgresInstalled();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-pg-'));
  chmodSync(dir, 0o700);
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', RUN_AS], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', RUN_AS], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  runPg(bin, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  runPg(bin, 'pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      try {
        runPg(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
