import { ExitCode } from '../../core/errors.js';
import type { ItemOutcome } from '../../core/implement/implementItem.js';
import { implementPlan, type ImplementPlanResult } from '../../core/implement/implementPlan.js';
import { formatCredits, formatUsd, milliToCredits } from '../../core/ledger/money.js';
import type { CommandContext } from '../context.js';
import { askYesNo } from '../prompt.js';
import { outcomeJson } from './implementSupport.js';

export interface ImplementFlags {
  retries?: number;
  maxCost?: bigint;
  allowDirty?: boolean;
  keepGoing?: boolean;
  provider?: string;
  model?: string;
}

/** Ctrl-C / SIGTERM abort the work (Aider is killed, the tree restored) instead of killing us mid-way. */
function interruptSignal(ctx: CommandContext): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) ctx.out.warn(`${name}: stopping Aider and restoring the working tree…`);
    controller.abort();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

function exitCodeOf(o: ItemOutcome): number {
  if (o.error) return o.error.exitCode;
  return o.outcome === 'approved' ? ExitCode.ok : ExitCode.internal;
}

function outcomeLine(o: ItemOutcome): string {
  const cost = `${formatCredits(o.creditsMilli)} credits (${formatUsd(o.costNano)})`;
  switch (o.outcome) {
    case 'approved':
      return `[x] ${o.item.id} ${o.item.title}: approved after ${o.attempts.length} attempt${o.attempts.length === 1 ? '' : 's'}, committed ${o.commit?.slice(0, 12)}; ${cost}.`;
    case 'rejected':
      return `[!] ${o.item.id} ${o.item.title}: rejected after ${o.attempts.length} attempt${o.attempts.length === 1 ? '' : 's'}; tree restored${o.patchFile ? `, diff saved to ${o.patchFile}` : ''}; ${cost}.`;
    default:
      return `[ ] ${o.item.id} ${o.item.title}: ${o.outcome} (${o.error?.message ?? 'error'}); ${cost}.`;
  }
}

export async function runImplement(ctx: CommandContext, target: string, opts: ImplementFlags): Promise<void> {
  const rt = ctx.runtime({ models: { coder: opts }, maxCostNano: opts.maxCost });
  const interrupt = interruptSignal(ctx);
  try {
    const result = await implementPlan(rt, {
      target,
      retries: opts.retries,
      allowDirty: opts.allowDirty,
      keepGoing: opts.keepGoing,
      signal: interrupt.signal,
      // Running `implement` is the request itself: in CI it goes ahead.
      confirm: (text) =>
        askYesNo(ctx.out, Boolean(ctx.options.yes), { text, flag: '--yes', whenUnattended: 'proceed' }),
      onItemDone: (o) => {
        if (target === 'all') ctx.out.info(outcomeLine(o));
      },
    });
    if (result.decisive) renderOutcomes(ctx, result, result.decisive, rt.config.verify.command ?? null);
    else renderNothingToDo(ctx, result, target);
  } finally {
    interrupt.dispose();
    await rt.close();
  }
}

function recoveredJson(result: ImplementPlanResult) {
  return result.recovered.map((r) => ({ item: r.itemId, startedAt: r.startedAt, restoredFiles: r.restoredFiles }));
}

function renderNothingToDo(ctx: CommandContext, result: ImplementPlanResult, target: string): void {
  ctx.out.result(
    {
      outcome: 'nothing-to-do',
      item: null,
      attempts: [],
      commit: null,
      credits: 0,
      usd: 0,
      recovered: recoveredJson(result),
    },
    result.mode === 'id'
      ? `${target} is already done.`
      : `Nothing to do: every item in ${result.plan.rel} is done or rejected.`,
  );
  process.exitCode = ExitCode.nothingToDo;
}

function renderOutcomes(
  ctx: CommandContext,
  result: ImplementPlanResult,
  decisive: ItemOutcome,
  checkCommand: string | null,
): void {
  const { outcomes, creditsMilli, costNano } = result;
  const balance = milliToCredits(result.balanceMilli);
  const json = {
    ...outcomeJson(decisive),
    credits: milliToCredits(creditsMilli),
    usd: Number(costNano) / 1e9,
    balance,
    // No check command configured: the result says so (checks are null in every attempt).
    checkCommand,
    recovered: recoveredJson(result),
    ...(result.mode === 'all' ? { items: outcomes.map(outcomeJson) } : {}),
  };
  ctx.out.result(json, () =>
    [
      ...outcomes.map(outcomeLine),
      ...(checkCommand ? [] : ['No check command is configured (verify.command): only the review judged the diff.']),
      `Total: ${formatCredits(creditsMilli)} credits (${formatUsd(costNano)}). Balance: ${balance} credits.`,
    ].join('\n'),
  );
  if (decisive.error && !ctx.out.json) {
    process.stderr.write(`error: ${decisive.error.message}\n`);
    if (decisive.error.hint) process.stderr.write(`hint: ${decisive.error.hint}\n`);
  }
  process.exitCode = exitCodeOf(decisive);
}
