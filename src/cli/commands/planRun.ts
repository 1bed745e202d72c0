import path from 'node:path';
import { AppError, usageError } from '../../core/errors.js';
import type { MeteredResponse } from '../../core/ledger/meter.js';
import { assertInputLength } from '../../core/inputLimits.js';
import { formatCredits, formatUsd, milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import type { ArchitectCall } from '../../core/plan/architect.js';
import { createPlan } from '../../core/plan/createPlan.js';
import { nextOpenItem, planProgress, type Plan, type PlanItem } from '../../core/plan/planFile.js';
import { checkPlanTarget, loadPlan, planLocation } from '../../core/plan/planStore.js';
import type { CommandContext } from '../context.js';
import { askYesNo, canAsk } from '../prompt.js';

export interface PlanFlags {
  replace?: boolean;
  provider?: string;
  model?: string;
  maxCost?: bigint;
}

/** JSON shape of an item (DESIGN §3 `plan show`: id, title, status, files, verification; more added). */
function itemJson(item: PlanItem) {
  return {
    id: item.id,
    title: item.title,
    status: item.status,
    files: item.files,
    verification: item.verification,
    action: item.action,
    feedback: item.feedback ?? null,
    line: item.line,
  };
}

/**
 * An existing plan is replaced only when asked: on a terminal the question is put; with --yes it
 * is answered; unattended, core refuses with an error naming --replace.
 */
async function askToReplace(ctx: CommandContext): Promise<boolean> {
  if (!ctx.options.yes && !canAsk(ctx.out)) return false;
  const location = planLocation(ctx.workspace(), ctx.config());
  if (checkPlanTarget(location, { replace: true }).kind !== 'plan') return false;
  const yes = await askYesNo(ctx.out, Boolean(ctx.options.yes), {
    text: `${location.rel} already holds a plan. Replace it (the old one is archived under .ai-dev-bot/plans/)?`,
    flag: '--replace',
    whenUnattended: 'refuse',
  });
  if (!yes) throw new AppError('interrupted', `Cancelled; ${location.rel} was left untouched.`);
  return true;
}

export async function runPlan(ctx: CommandContext, words: string[], opts: PlanFlags): Promise<void> {
  const goal = words.join(' ').trim();
  if (!goal)
    throw usageError('The goal is empty.', 'Example: ai-dev-bot plan "add retry with backoff to the HTTP client"');
  assertInputLength('goal', goal);
  const replace = opts.replace || (await askToReplace(ctx));
  const rt = ctx.runtime({ models: { architect: opts }, maxCostNano: opts.maxCost });
  const { ws, config } = rt;
  const responses: MeteredResponse[] = [];
  try {
    // A missing key fails here, before any context is gathered.
    const { choice, provider, meter } = await rt.model('architect');
    const call: ArchitectCall = async (request) => {
      const response = await meter.call(provider, request, { task: 'planning' });
      responses.push(response);
      return {
        text: response.text,
        model: response.model,
        inputTokens: response.inputTokens,
        outputTokens: response.outputTokens,
      };
    };
    const result = await createPlan({
      ws,
      config,
      goal,
      replace,
      call,
      modelLabel: `${choice.provider}/${choice.model}`,
      maxOutputTokens: choice.maxOutputTokens,
      search: rt.search,
      reporter: ctx.out,
    });
    const usage = {
      calls: responses.length,
      inputTokens: responses.reduce((n, r) => n + r.inputTokens, 0),
      outputTokens: responses.reduce((n, r) => n + r.outputTokens, 0),
      creditsMilli: responses.reduce((n, r) => n + r.creditsMilli, 0n),
      costNano: responses.reduce((n, r) => n + r.costNano, 0n),
    };
    const balance = meter.ledger.balanceMilli();
    const { plan, location } = result;
    const archived = result.archivedTo ? path.relative(ws.root, result.archivedTo) : null;
    ctx.out.result(
      {
        file: location.rel,
        goal: plan.goal,
        date: plan.date ?? null,
        model: plan.model ?? null,
        items: plan.items.map(itemJson),
        archived,
        context: {
          files: result.context.fileCount,
          indexHits: result.context.hits.length,
          indexNote: result.context.indexNote ?? null,
        },
        usage: {
          calls: usage.calls,
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          credits: milliToCredits(usage.creditsMilli),
          usd: nanoToUsd(usage.costNano),
        },
        balance: milliToCredits(balance),
      },
      () =>
        [
          `Wrote ${location.rel}: ${plan.items.length} item${plan.items.length === 1 ? '' : 's'} for "${plan.goal}".`,
          ...(archived ? [`The previous plan is archived at ${archived}.`] : []),
          '',
          ...plan.items.map((item) => `  [ ] ${item.id}  ${item.title}`),
          '',
          `${plan.model ?? choice.provider}: ${usage.calls} call${usage.calls === 1 ? '' : 's'}, ${usage.inputTokens} in + ${usage.outputTokens} out tokens, ` +
            `${formatCredits(usage.creditsMilli)} credits (${formatUsd(usage.costNano)}). Balance: ${formatCredits(balance)} credits.`,
          `Review and edit ${location.rel}, then run \`ai-dev-bot implement next\`.`,
        ].join('\n'),
    );
  } finally {
    await rt.close();
  }
}

function statusMark(item: PlanItem): string {
  return item.status === 'done' ? '[x]' : item.status === 'rejected' ? '[!]' : '[ ]';
}

/** Plain-text view for pipes, CI and --quiet. */
export function planShowText(plan: Plan, file: string): string {
  const progress = planProgress(plan);
  const next = nextOpenItem(plan);
  const lines = [`${file}: ${plan.goal || '(no goal)'}`];
  const meta = [plan.model, plan.date].filter(Boolean).join(', ');
  if (meta) lines.push(`  planned by ${meta}`);
  lines.push(
    `Progress: ${progress.done}/${progress.total} done, ${progress.rejected} rejected, ${progress.open} open`,
    '',
  );
  for (const item of plan.items) {
    lines.push(`${statusMark(item)} ${item.id}  ${item.title}${item === next ? '   <- next' : ''}`);
    if (item.status === 'rejected' && item.feedback)
      lines.push(`      feedback: ${item.feedback.split('\n').join('\n                ')}`);
  }
  if (plan.items.length === 0) lines.push('(no items)');
  return lines.join('\n');
}

export async function runPlanShow(ctx: CommandContext): Promise<void> {
  const ws = ctx.workspace();
  const location = planLocation(ws, ctx.config());
  const loaded = loadPlan(location);
  const { plan, warnings } = loaded;
  for (const w of warnings) ctx.out.warn(`${location.rel}:${w.line}: ${w.message}`);
  const progress = planProgress(plan);
  const next = nextOpenItem(plan);
  const json = {
    file: location.rel,
    goal: plan.goal,
    date: plan.date ?? null,
    model: plan.model ?? null,
    items: plan.items.map(itemJson),
    progress,
    next: next?.id ?? null,
    warnings,
  };
  if (ctx.out.interactive && process.stdout.isTTY) {
    // The ink view is only worth its load time on a terminal (and its colours only make sense there).
    const { renderPlanView } = await import('../views/PlanView.js');
    // A pseudo-terminal can report 0 columns; lay out for 80 then rather than one char per line.
    const columns = (process.stdout.columns ?? 0) >= 20 ? process.stdout.columns : 80;
    ctx.out.result(json, renderPlanView(plan, location.rel, columns));
    return;
  }
  ctx.out.result(json, () => planShowText(plan, location.rel));
}
