#!/usr/bin/env node
// A throw-away PostgreSQL server for the team-ledger tests and `npm run bench:sync`: the Debian
// `postgresql` package (installed with apt-get when missing, as root), a cluster initialised in a
// temp dir, run as the unprivileged `postgres` user (PostgreSQL refuses to run as root), on a free
// loopback port with trust auth and fsync off (test data only). Fast when already installed:
// initdb + start take a few seconds.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { aptInstall } from './apt-install.mjs';

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

/** The server binaries, installing the package when missing. */
export function ensurePostgresInstalled() {
  let bin = pgBinDir();
  if (!bin) {
    aptInstall('postgresql', 'the tests need its server binaries');
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

const DIR_PREFIX = 'aidb-pg-';
const OWNER_FILE = 'owner.pid';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Clusters left behind by a test run or benchmark that was killed before its teardown: their
 * owner process is gone, so stop them and remove their directory. Live runs' clusters are kept.
 */
function removeOrphanClusters(bin) {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    let owner;
    try {
      owner = Number(readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // not ours, or still being set up
    }
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    try {
      if (existsSync(path.join(dir, 'data', 'postmaster.pid')))
        runPg(bin, 'pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts a fresh cluster; returns its URL (database `postgres`, user `postgres`) and a stop
 * function that shuts it down and removes the directory.
 */
export async function startPostgres() {
  const bin = ensurePostgresInstalled();
  removeOrphanClusters(bin);
  const dir = mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
  chmodSync(dir, 0o700);
  writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
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
