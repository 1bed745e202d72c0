import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from '../processAlive.js';

/**
 * `.ai-dev-bot/runs.db`: one row per item worked on (with the snapshot that restores the tree) and
 * one per attempt (verdict, feedback, checks, cost). A row left `running` by a process that no
 * longer exists is an interrupted run whose tree the next run restores.
 */

export type WorkState = 'running' | 'approved' | 'rejected' | 'restored' | 'failed';
export type AttemptVerdict = 'APPROVED' | 'REJECTED' | 'FAILED' | 'INTERRUPTED';

export interface WorkRow {
  id: string;
  command: string;
  itemId: string;
  itemTitle: string;
  state: WorkState;
  pid: number;
  host: string;
  aiderPid: number | null;
  snapshotDir: string;
  startedAt: string;
  finishedAt: string | null;
  outcome: string | null;
  commitSha: string | null;
}

export interface AttemptRecord {
  workId: string;
  n: number;
  verdict: AttemptVerdict;
  feedback: string;
  checks: unknown;
  creditsMilli: bigint;
  costNano: bigint;
  aiderMs: number;
  transcript: string | null;
}

export interface LastAttempt {
  itemId: string;
  itemTitle: string;
  /** The item run's state: approved, rejected, restored (stopped), failed, or running. */
  state: WorkState;
  /** How many attempts were recorded. */
  attempts: number;
  verdict: AttemptVerdict | null;
  feedback: string;
  /** When it finished (or, while running, when its last attempt or the run started). */
  at: string;
  commit: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS work (
  id TEXT PRIMARY KEY,
  command TEXT NOT NULL,
  item_id TEXT NOT NULL,
  item_title TEXT NOT NULL,
  state TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  aider_pid INTEGER,
  snapshot_dir TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  outcome TEXT,
  commit_sha TEXT
);
CREATE INDEX IF NOT EXISTS work_state ON work(state);
CREATE TABLE IF NOT EXISTS attempts (
  id TEXT PRIMARY KEY,
  work_id TEXT NOT NULL REFERENCES work(id),
  n INTEGER NOT NULL,
  verdict TEXT NOT NULL,
  feedback TEXT NOT NULL,
  checks_json TEXT,
  credits_milli INTEGER NOT NULL,
  cost_nano INTEGER NOT NULL,
  aider_ms INTEGER NOT NULL,
  transcript TEXT,
  created_at TEXT NOT NULL
);
`;

interface WorkDbRow {
  id: string;
  command: string;
  item_id: string;
  item_title: string;
  state: WorkState;
  pid: number;
  host: string;
  aider_pid: number | null;
  snapshot_dir: string;
  started_at: string;
  finished_at: string | null;
  outcome: string | null;
  commit_sha: string | null;
}

function toWork(row: WorkDbRow): WorkRow {
  return {
    id: row.id,
    command: row.command,
    itemId: row.item_id,
    itemTitle: row.item_title,
    state: row.state,
    pid: row.pid,
    host: row.host,
    aiderPid: row.aider_pid,
    snapshotDir: row.snapshot_dir,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    outcome: row.outcome,
    commitSha: row.commit_sha,
  };
}

export class RunsStore {
  private constructor(private readonly db: Database.Database) {}

  static open(file: string): RunsStore {
    mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file, { timeout: 10_000 });
    db.pragma('journal_mode = WAL');
    // FULL: the `running` row must be on disk before Aider touches the tree, even if the OS crashes.
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
    return new RunsStore(db);
  }

  close(): void {
    this.db.close();
  }

  startWork(input: { command: string; itemId: string; itemTitle: string; snapshotDir: string; id?: string }): WorkRow {
    const row: WorkDbRow = {
      id: input.id ?? randomUUID(),
      command: input.command,
      item_id: input.itemId,
      item_title: input.itemTitle,
      state: 'running',
      pid: process.pid,
      host: os.hostname(),
      aider_pid: null,
      snapshot_dir: input.snapshotDir,
      started_at: new Date().toISOString(),
      finished_at: null,
      outcome: null,
      commit_sha: null,
    };
    this.db
      .prepare(
        `INSERT INTO work (id, command, item_id, item_title, state, pid, host, aider_pid, snapshot_dir, started_at)
         VALUES (@id, @command, @item_id, @item_title, @state, @pid, @host, @aider_pid, @snapshot_dir, @started_at)`,
      )
      .run(row);
    return toWork(row);
  }

  setAiderPid(workId: string, pid: number | null): void {
    this.db.prepare('UPDATE work SET aider_pid = ? WHERE id = ?').run(pid, workId);
  }

  finishWork(workId: string, state: Exclude<WorkState, 'running'>, outcome: string, commitSha?: string): void {
    this.db
      .prepare('UPDATE work SET state = ?, outcome = ?, commit_sha = ?, finished_at = ?, aider_pid = NULL WHERE id = ?')
      .run(state, outcome, commitSha ?? null, new Date().toISOString(), workId);
  }

  recordAttempt(a: AttemptRecord): void {
    this.db
      .prepare(
        `INSERT INTO attempts (id, work_id, n, verdict, feedback, checks_json, credits_milli, cost_nano, aider_ms, transcript, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        randomUUID(),
        a.workId,
        a.n,
        a.verdict,
        a.feedback,
        a.checks === undefined ? null : JSON.stringify(a.checks),
        Number(a.creditsMilli),
        Number(a.costNano),
        Math.round(a.aiderMs),
        a.transcript,
        new Date().toISOString(),
      );
  }

  /** Work rows still `running` whose process is gone (killed, crashed): their trees need restoring. */
  abandonedWork(): WorkRow[] {
    const rows = this.db.prepare(`SELECT * FROM work WHERE state = 'running' ORDER BY started_at`).all() as WorkDbRow[];
    const host = os.hostname();
    return rows.map(toWork).filter((w) => w.host !== host || !processAlive(w.pid) || w.pid === process.pid);
  }

  /** Work rows `running` in another live process on this host (a concurrent implement). */
  activeWork(): WorkRow[] {
    const rows = this.db.prepare(`SELECT * FROM work WHERE state = 'running'`).all() as WorkDbRow[];
    const host = os.hostname();
    return rows.map(toWork).filter((w) => w.host === host && w.pid !== process.pid && processAlive(w.pid));
  }

  lastWork(limit = 10): WorkRow[] {
    return (this.db.prepare('SELECT * FROM work ORDER BY started_at DESC LIMIT ?').all(limit) as WorkDbRow[]).map(
      toWork,
    );
  }

  /** The most recent item run with its last attempt (what `status` shows), or undefined if none. */
  lastAttempt(): LastAttempt | undefined {
    const row = this.db
      .prepare(
        `SELECT w.item_id, w.item_title, w.state, w.started_at, w.finished_at, w.commit_sha,
                a.n, a.verdict, a.feedback, a.created_at AS attempt_at
           FROM work w LEFT JOIN attempts a ON a.work_id = w.id
          ORDER BY w.started_at DESC, a.n DESC LIMIT 1`,
      )
      .get() as
      | {
          item_id: string;
          item_title: string;
          state: WorkState;
          started_at: string;
          finished_at: string | null;
          commit_sha: string | null;
          n: number | null;
          verdict: AttemptVerdict | null;
          feedback: string | null;
          attempt_at: string | null;
        }
      | undefined;
    if (!row) return undefined;
    return {
      itemId: row.item_id,
      itemTitle: row.item_title,
      state: row.state,
      attempts: row.n ?? 0,
      verdict: row.verdict,
      feedback: row.feedback ?? '',
      at: row.finished_at ?? row.attempt_at ?? row.started_at,
      commit: row.commit_sha,
    };
  }

  attemptsOf(workId: string): Array<{ n: number; verdict: AttemptVerdict; feedback: string }> {
    return this.db
      .prepare('SELECT n, verdict, feedback FROM attempts WHERE work_id = ? ORDER BY n')
      .all(workId) as Array<{
      n: number;
      verdict: AttemptVerdict;
      feedback: string;
    }>;
  }
}
