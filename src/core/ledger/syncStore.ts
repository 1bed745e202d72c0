import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Ledger } from './ledger.js';
import type { PulledTransaction, PushedTransaction } from './syncProtocol.js';

/**
 * The local side of sync, on the user's ledger: which rows to push, marking them sent, storing
 * pulled rows together with the cursor (one write transaction, so a kill -9 can neither lose nor
 * double them), and the bookkeeping `status` shows.
 */

export type SyncStateKey = 'cursor' | 'lastSyncAt' | 'serverBalanceMilli' | 'failures' | 'nextAttemptAt' | 'lastError';

export function readSyncState(ledger: Ledger): Partial<Record<SyncStateKey, string>> {
  const rows = ledger.all(ledger.db.selectFrom('sync_state').select(['key', 'value']));
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

function writeState(ledger: Ledger, values: Partial<Record<SyncStateKey, string | null>>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === null) ledger.run(ledger.db.deleteFrom('sync_state').where('key', '=', key));
    else
      ledger.run(
        ledger.db
          .insertInto('sync_state')
          .values({ key, value })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value })),
      );
  }
}

export function updateSyncState(ledger: Ledger, values: Partial<Record<SyncStateKey, string | null>>): void {
  ledger.immediate(() => writeState(ledger, values));
}

/** Unsynced usage, oldest first, in the wire format (with the api_usage fields a dashboard groups by). */
export function pendingPush(ledger: Ledger, limit: number): PushedTransaction[] {
  const rows = ledger.all(
    ledger.db
      .selectFrom('credit_transactions as t')
      .leftJoin('api_usage as u', 'u.id', 't.api_usage_id')
      .select(['t.id', 't.credits', 't.usd_cost', 't.project', 't.description', 't.created_at'])
      .select(['u.id as usage_id', 'u.provider', 'u.model', 'u.task', 'u.input_tokens', 'u.output_tokens'])
      .select(['u.cost_source', 'u.tokens_estimated', 'u.latency_ms', 'u.status'])
      .where('t.synced_at', 'is', null)
      .where('t.type', '=', 'usage_deduction')
      .orderBy(sql`t.rowid`)
      .limit(limit),
    true,
  );
  return rows.map((r) => ({
    id: r.id,
    type: 'usage_deduction' as const,
    creditsMilli: Number(BigInt(r.credits)),
    usdCostNano: r.usd_cost === null ? null : Number(BigInt(r.usd_cost)),
    project: r.project,
    description: r.description.slice(0, 500),
    createdAt: r.created_at,
    usage:
      r.usage_id && r.provider && r.model && r.task
        ? {
            id: r.usage_id,
            provider: r.provider,
            model: r.model,
            task: r.task,
            inputTokens: Number(r.input_tokens ?? 0),
            outputTokens: Number(r.output_tokens ?? 0),
            costSource: r.cost_source ?? 'table',
            tokensEstimated: r.tokens_estimated === 1,
            latencyMs: r.latency_ms === null ? null : Number(r.latency_ms),
            status: r.status === 'failed' ? ('failed' as const) : ('ok' as const),
          }
        : null,
  }));
}

export function markSynced(ledger: Ledger, ids: string[], at: string, serverBalanceMilli: number): void {
  ledger.immediate(() => {
    for (let i = 0; i < ids.length; i += 500) {
      ledger.run(
        ledger.db
          .updateTable('credit_transactions')
          .set({ synced_at: at })
          .where('id', 'in', ids.slice(i, i + 500))
          .where('synced_at', 'is', null),
      );
    }
    writeState(ledger, { serverBalanceMilli: String(serverBalanceMilli) });
  });
}

/**
 * Credits that exist only on this machine (the first-use grant, `credits grant`) are not the team's
 * money: the server is the only source of credits once sync is on. They are offset by one
 * `sync_adjustment` so that, after a sync, the local balance is the account's to the unit.
 * Returns the milli-credits offset.
 */
export function settleLocalCredits(ledger: Ledger, at: string): bigint {
  return ledger.immediate(() => {
    const local = ledger.all(
      ledger.db
        .selectFrom('credit_transactions')
        .select(['id', 'credits'])
        .where('synced_at', 'is', null)
        .where('type', '!=', 'usage_deduction'),
      true,
    );
    if (local.length === 0) return 0n;
    const total = local.reduce((sum, r) => sum + BigInt(r.credits), 0n);
    for (let i = 0; i < local.length; i += 500) {
      ledger.run(
        ledger.db
          .updateTable('credit_transactions')
          .set({ synced_at: at })
          .where(
            'id',
            'in',
            local.slice(i, i + 500).map((r) => r.id),
          ),
      );
    }
    if (total !== 0n) {
      ledger.run(
        ledger.db.insertInto('credit_transactions').values({
          id: randomUUID(),
          type: 'sync_adjustment',
          credits: -total,
          usd_cost: null,
          api_usage_id: null,
          project: null,
          description: 'local credits offset: the team account is the source of credits',
          created_at: at,
          synced_at: at,
        }),
      );
    }
    return total;
  });
}

/**
 * Stores pulled rows this ledger does not have yet (its own pushes come back too and are skipped
 * by id) and advances the cursor, in one write transaction. Returns how many were new.
 */
export function applyPulled(ledger: Ledger, rows: PulledTransaction[], cursor: string, at: string): number {
  return ledger.immediate(() => {
    let added = 0;
    for (const row of rows) {
      const known = ledger.first(ledger.db.selectFrom('credit_transactions').select('id').where('id', '=', row.id));
      if (known) continue;
      let usageId: string | null = null;
      if (row.usage) {
        usageId = row.usage.id;
        ledger.run(
          ledger.db
            .insertInto('api_usage')
            .values({
              id: row.usage.id,
              project: row.project,
              provider: row.usage.provider,
              model: row.usage.model,
              task: row.usage.task,
              input_tokens: row.usage.inputTokens,
              output_tokens: row.usage.outputTokens,
              cost: BigInt(row.usdCostNano ?? 0),
              cost_source: row.usage.costSource,
              tokens_estimated: row.usage.tokensEstimated ? 1 : 0,
              latency_ms: row.usage.latencyMs,
              status: row.usage.status,
              created_at: row.createdAt,
            })
            .onConflict((oc) => oc.column('id').doNothing()),
        );
      }
      const member = row.member ? ` [${row.member}]` : '';
      ledger.run(
        ledger.db.insertInto('credit_transactions').values({
          id: row.id,
          type: row.type,
          credits: BigInt(row.creditsMilli),
          usd_cost: row.usdCostNano === null ? null : BigInt(row.usdCostNano),
          api_usage_id: usageId,
          project: row.project,
          description: `${row.description}${member}`.slice(0, 1000),
          created_at: row.createdAt,
          synced_at: at,
        }),
      );
      added++;
    }
    writeState(ledger, { cursor });
    return added;
  });
}

/** Unsynced usage: how many rows and how many milli-credits (for `status`). */
export function unsyncedUsage(ledger: Ledger): { count: number; creditsMilli: bigint } {
  const row = ledger.first(
    ledger.db
      .selectFrom('credit_transactions')
      .select([sql<bigint>`count(*)`.as('n'), sql<bigint>`coalesce(-sum(credits), 0)`.as('spent')])
      .where('synced_at', 'is', null)
      .where('type', '=', 'usage_deduction'),
    true,
  );
  return { count: Number(row?.n ?? 0), creditsMilli: BigInt(row?.spent ?? 0) };
}
