import path from 'node:path';
import { loadConfig, type Config } from '../../core/config.js';
import { AppError, usageError } from '../../core/errors.js';
import { formatCredits, milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import { Budget } from '../../core/llm/budget.js';
import { parseUsdAmount } from '../../core/ledger/bounds.js';
import type { Ledger, TransactionRecord } from '../../core/ledger/ledger.js';
import { createMeter, type Meter } from '../../core/llm/meter.js';
import { findRepoRoot, type Workspace } from '../../core/workspace.js';
import type { CommandContext } from '../context.js';

/**
 * The ledger is per user, not per repository: `credits` and `pricing` work anywhere, reading the
 * repo's config when run inside one.
 */
export function configAnywhere(ctx: CommandContext): { config: Config; project: string | null } {
  let root: string;
  try {
    root = findRepoRoot(ctx.cwd).root;
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_a_git_repo') return { config: loadConfig({}), project: null };
    throw error;
  }
  return { config: ctx.config(), project: path.basename(root) };
}

/** DESIGN §3 `credits` fields: id, type, credits, usd, description, createdAt. */
export function transactionJson(t: TransactionRecord) {
  return {
    id: t.id,
    type: t.type,
    credits: milliToCredits(t.creditsMilli),
    usd: t.usdCostNano === null ? null : nanoToUsd(t.usdCostNano),
    description: t.description,
    createdAt: t.createdAt,
    project: t.project,
    syncedAt: t.syncedAt,
  };
}

export function transactionLine(t: TransactionRecord): string {
  const amount = formatCredits(t.creditsMilli);
  const signed = t.creditsMilli > 0n ? `+${amount}` : amount;
  return `${t.createdAt.replace('T', ' ').slice(0, 19)}  ${signed.padStart(12)}  ${t.type.padEnd(15)}  ${t.description}`;
}

/** `--max-cost <usd>` → nano-USD (exact, within the ledger's range), or undefined when absent. */
export function parseMaxCost(value: string | undefined): bigint | undefined {
  return value === undefined ? undefined : parseUsdAmount(value, '--max-cost');
}

export function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw usageError(`--limit must be an integer from 1 to 100000, got "${value}".`);
  return n;
}

/** The meter of one command run in a repository: charged to the repo's project, within `--max-cost`. */
export function commandMeter(
  ctx: CommandContext,
  ws: Workspace,
  config: Config,
  ledger: Ledger,
  maxCostNano: bigint | undefined,
): Meter {
  return createMeter({
    config,
    ledger,
    reporter: ctx.out,
    project: path.basename(ws.root),
    ...(maxCostNano !== undefined ? { budget: new Budget({ nano: maxCostNano }) } : {}),
  });
}
