import path from 'node:path';
import { loadConfig, type Config } from '../../core/config.js';
import { AppError } from '../../core/errors.js';
import { formatCredits, milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import type { TransactionRecord } from '../../core/ledger/ledger.js';
import { findRepoRoot } from '../../core/workspace.js';
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
