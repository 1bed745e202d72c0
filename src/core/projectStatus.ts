import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import { AppError } from './errors.js';
import { RunsStore, type LastAttempt } from './implement/runsStore.js';
import { indexFreshness, type IndexFreshness } from './index/freshness.js';
import type { Ledger, SpendRow } from './ledger/ledger.js';
import { milliToCredits, nanoToUsd } from './ledger/money.js';
import { syncSettings, syncStatus, type SyncStatus } from './ledger/syncSetup.js';
import { nextOpenItem, planProgress } from './plan/planFile.js';
import { loadPlan, planLocation } from './plan/planStore.js';
import type { Workspace } from './workspace.js';

/** Everything `status` shows, read from local state only (no LLM call, no embedding). */
export interface ProjectStatus {
  plan: {
    file: string;
    goal: string | null;
    date: string | null;
    total: number;
    done: number;
    rejected: number;
    next: string | null;
  } | null;
  lastAttempt: {
    item: string;
    title: string;
    outcome: LastAttempt['state'];
    verdict: LastAttempt['verdict'];
    attempts: number;
    feedback: string;
    at: string;
    commit: string | null;
  } | null;
  credits: { balance: number; spentToday: number };
  spend: {
    today: SpendJson[];
    /** This repository's spend since the plan was written (all of it when the plan has no date). */
    plan: { since: string | null; total: { credits: number; usd: number }; rows: SpendJson[] } | null;
  };
  index: IndexFreshness | null;
  sync: SyncStatus;
}

export interface SpendJson {
  task: string;
  provider: string;
  model: string;
  calls: number;
  credits: number;
  usd: number;
}

const FEEDBACK_EXCERPT = 160;

/** The first line of the feedback, cut to an excerpt that fits a status line. */
export function feedbackExcerpt(feedback: string, max = FEEDBACK_EXCERPT): string {
  const line = feedback.trim().split('\n')[0]!.trim();
  return line.length <= max ? line : `${line.slice(0, max - 1).trimEnd()}…`;
}

/** "2026-12-01 02:53 UTC" (the plan header `plan` writes) → ISO; anything else → null. */
export function planDateIso(date: string | undefined): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?(?:\s*UTC|Z)?$/.exec(date?.trim() ?? '');
  if (!m) return null;
  const parsed = new Date(`${m[1]}T${m[2] ?? '00:00'}Z`);
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
}

function readPlan(ws: Workspace, config: Config): ProjectStatus['plan'] {
  const location = planLocation(ws, config);
  try {
    const { plan } = loadPlan(location);
    const progress = planProgress(plan);
    return {
      file: location.rel,
      goal: plan.goal || null,
      date: plan.date ?? null,
      total: progress.total,
      done: progress.done,
      rejected: progress.rejected,
      next: nextOpenItem(plan)?.id ?? null,
    };
  } catch (error) {
    // No plan yet is a normal state here; a foreign TODO.md is reported, not hidden.
    if (error instanceof AppError && error.code === 'plan_missing') return null;
    throw error;
  }
}

function readLastAttempt(ws: Workspace): ProjectStatus['lastAttempt'] {
  // Never create runs.db just to look at it.
  if (!existsSync(ws.runsDb)) return null;
  const runs = RunsStore.open(ws.runsDb);
  try {
    const last = runs.lastAttempt();
    if (!last) return null;
    return {
      item: last.itemId,
      title: last.itemTitle,
      outcome: last.state,
      verdict: last.verdict,
      attempts: last.attempts,
      feedback: feedbackExcerpt(last.feedback),
      at: last.at,
      commit: last.commit,
    };
  } finally {
    runs.close();
  }
}

const spendJson = (r: SpendRow): SpendJson => ({
  task: r.task,
  provider: r.provider,
  model: r.model,
  calls: r.calls,
  credits: milliToCredits(r.creditsMilli),
  usd: nanoToUsd(r.costNano),
});

export async function projectStatus(
  ws: Workspace,
  config: Config,
  ledger: Ledger,
  now: Date = new Date(),
): Promise<ProjectStatus> {
  const plan = readPlan(ws, config);
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const today = midnight.toISOString();
  const project = path.basename(ws.root);
  let planSpend: ProjectStatus['spend']['plan'] = null;
  if (plan) {
    const since = planDateIso(plan.date ?? undefined);
    const rows = ledger.spendSummary(since ?? undefined, project);
    planSpend = {
      since,
      total: {
        credits: milliToCredits(rows.reduce((n, r) => n + r.creditsMilli, 0n)),
        usd: nanoToUsd(rows.reduce((n, r) => n + r.costNano, 0n)),
      },
      rows: rows.map(spendJson),
    };
  }
  return {
    plan,
    lastAttempt: readLastAttempt(ws),
    credits: {
      balance: milliToCredits(ledger.balanceMilli()),
      spentToday: milliToCredits(ledger.spentSinceMilli(today)),
    },
    spend: { today: ledger.spendSummary(today).map(spendJson), plan: planSpend },
    index: (await indexFreshness(ws, config)) ?? null,
    sync: syncStatus(ledger, syncSettings()),
  };
}
