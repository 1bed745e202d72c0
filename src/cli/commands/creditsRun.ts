import { openUserLedger } from '../../core/ledger/userLedger.js';
import { syncLedger } from '../../core/ledger/sync.js';
import { manualSyncOptions, syncSettings, syncTransport } from '../../core/ledger/syncSetup.js';
import type { Ledger, SpendRow } from '../../core/ledger/ledger.js';
import { assertInputLength } from '../../core/inputLimits.js';
import { parseCreditsAmount } from '../../core/ledger/bounds.js';
import { formatCredits, formatUsd, milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import type { CommandContext } from '../context.js';
import { configAnywhere, transactionJson, transactionLine } from './ledgerSupport.js';

const RECENT = 10;

interface SpendGroup {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costNano: bigint;
  creditsMilli: bigint;
}

function group(rows: SpendRow[], key: (r: SpendRow) => string): Map<string, SpendGroup> {
  const out = new Map<string, SpendGroup>();
  for (const r of rows) {
    const g = out.get(key(r)) ?? { calls: 0, inputTokens: 0, outputTokens: 0, costNano: 0n, creditsMilli: 0n };
    g.calls += r.calls;
    g.inputTokens += r.inputTokens;
    g.outputTokens += r.outputTokens;
    g.costNano += r.costNano;
    g.creditsMilli += r.creditsMilli;
    out.set(key(r), g);
  }
  return out;
}

function groupJson(name: string, map: Map<string, SpendGroup>) {
  return [...map.entries()]
    .sort((a, b) => (b[1].creditsMilli > a[1].creditsMilli ? 1 : b[1].creditsMilli < a[1].creditsMilli ? -1 : 0))
    .map(([key, g]) => ({
      [name]: key,
      calls: g.calls,
      inputTokens: g.inputTokens,
      outputTokens: g.outputTokens,
      credits: milliToCredits(g.creditsMilli),
      usd: nanoToUsd(g.costNano),
    }));
}

function spendReport(ledger: Ledger) {
  const rows = ledger.spendSummary();
  const total = [...group(rows, () => 'all').values()][0] ?? {
    calls: 0,
    inputTokens: 0,
    outputTokens: 0,
    costNano: 0n,
    creditsMilli: 0n,
  };
  const byTask = group(rows, (r) => r.task);
  const byModel = group(rows, (r) => `${r.provider}/${r.model}`);
  return {
    json: {
      calls: total.calls,
      credits: milliToCredits(total.creditsMilli),
      usd: nanoToUsd(total.costNano),
      byTask: groupJson('task', byTask),
      byModel: groupJson('model', byModel),
    },
    human: () => {
      if (total.calls === 0) return 'No LLM usage recorded yet.';
      const line = (label: string, g: SpendGroup) =>
        `  ${label.padEnd(40)} ${String(g.calls).padStart(5)} calls  ${formatCredits(g.creditsMilli).padStart(10)} credits  ${formatUsd(g.costNano)}`;
      return [
        `Spent ${formatCredits(total.creditsMilli)} credits (${formatUsd(total.costNano)} provider cost) on ${total.calls} calls.`,
        'By task:',
        ...[...byTask.entries()].map(([k, g]) => line(k, g)),
        'By model:',
        ...[...byModel.entries()].map(([k, g]) => line(k, g)),
      ].join('\n');
    },
  };
}

async function withLedger<T>(
  ctx: CommandContext,
  fn: (ledger: Ledger, project: string | null) => T | Promise<T>,
): Promise<T> {
  const { config, project } = configAnywhere(ctx);
  const ledger = await openUserLedger(config);
  try {
    return await fn(ledger, project);
  } finally {
    ledger.close();
  }
}

export async function showBalance(ctx: CommandContext): Promise<void> {
  await withLedger(ctx, (ledger) => {
    // Calls of processes killed mid-call are charged before the balance is shown.
    ledger.settleAbandonedHolds();
    const balance = ledger.balanceMilli();
    const held = ledger.heldMilli();
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    const spentToday = ledger.spentSinceMilli(midnight.toISOString());
    const recent = ledger.history(RECENT);
    const spend = spendReport(ledger);
    ctx.out.result(
      {
        balance: milliToCredits(balance),
        reserved: milliToCredits(held),
        spentToday: milliToCredits(spentToday),
        recent: recent.map(transactionJson),
        spend: spend.json,
        ledger: ledger.file,
      },
      () =>
        [
          `Balance: ${formatCredits(balance)} credits${held > 0n ? ` (${formatCredits(held)} reserved by calls in flight)` : ''}; ` +
            `spent today: ${formatCredits(spentToday)}`,
          '',
          'Recent:',
          ...recent.map((t) => `  ${transactionLine(t)}`),
          '',
          spend.human(),
        ].join('\n'),
    );
  });
}

export async function showHistory(ctx: CommandContext, limitArg: number | undefined): Promise<void> {
  const limit = limitArg ?? 20;
  await withLedger(ctx, (ledger) => {
    const rows = ledger.history(limit);
    const balance = ledger.balanceMilli();
    ctx.out.result({ balance: milliToCredits(balance), recent: rows.map(transactionJson) }, () =>
      [...rows.map(transactionLine), `Balance: ${formatCredits(balance)} credits`].join('\n'),
    );
  });
}

export async function grantCredits(ctx: CommandContext, amount: string, reason: string | undefined): Promise<void> {
  const milli = parseCreditsAmount(amount, 'The credits to grant');
  if (reason !== undefined) assertInputLength('reason', reason);
  await withLedger(ctx, (ledger, project) => {
    const tx = ledger.grant(milli, { description: reason ?? 'manual grant', project });
    const balance = ledger.balanceMilli();
    ctx.out.result(
      { balance: milliToCredits(balance), transaction: transactionJson(tx) },
      `Granted ${formatCredits(milli)} credits. Balance: ${formatCredits(balance)} credits.`,
    );
  });
}

export async function syncCredits(ctx: CommandContext): Promise<void> {
  const settings = syncSettings();
  const transport = syncTransport(settings);
  await withLedger(ctx, async (ledger) => {
    const options = manualSyncOptions(settings, (error, delayMs) =>
      ctx.out.warn(`${error.message}; retrying in ${Math.ceil(delayMs / 1000)} s`),
    );
    const report = await syncLedger(ledger, transport, options);
    const serverBalance = report.serverBalanceMilli;
    ctx.out.result(
      {
        pushed: report.pushed,
        duplicates: report.duplicates,
        batches: report.pushBatches,
        pulled: report.pulled,
        localCreditsOffset: milliToCredits(report.localCreditsOffsetMilli),
        balance: milliToCredits(report.balanceMilli),
        serverBalance: serverBalance === null ? null : milliToCredits(serverBalance),
        lastSyncAt: report.lastSyncAt,
      },
      () =>
        [
          `Synced with ${settings.url}: pushed ${report.pushed} transactions in ${report.pushBatches} batches` +
            (report.duplicates ? ` (${report.duplicates} already there)` : '') +
            `, pulled ${report.pulled}.`,
          report.localCreditsOffsetMilli !== 0n
            ? `Local-only credits (${formatCredits(report.localCreditsOffsetMilli)}) were offset: credits now come from the team account.`
            : '',
          `Balance: ${formatCredits(report.balanceMilli)} credits.`,
        ]
          .filter(Boolean)
          .join('\n'),
    );
  });
}
