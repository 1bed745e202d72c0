import { randomUUID } from 'node:crypto';
import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { PulledTransaction, PushedTransaction, PushResponse } from '../core/ledger/syncProtocol.js';
import { ApiError } from './apiError.js';
import type { ServerDb } from './database.js';
import type { LedgerTransactionsTable, ServerDatabase } from './schema.js';

type Db = Kysely<ServerDatabase> | Transaction<ServerDatabase>;
type Row = Selectable<LedgerTransactionsTable>;

/**
 * Runs `fn` in one database transaction holding the account's row lock. Every write to an account's
 * ledger goes through here, so on PostgreSQL an account's rows get their `seq` in commit order and
 * a puller that saw seq N never later finds a row below N. (SQLite has one writer anyway.)
 */
async function withAccountLock<T>(
  server: ServerDb,
  accountId: string,
  fn: (trx: Transaction<ServerDatabase>) => Promise<T>,
): Promise<T> {
  return server.db.transaction().execute(async (trx) => {
    let lock = trx.selectFrom('accounts').select('id').where('id', '=', accountId);
    if (server.dialect === 'postgres') lock = lock.forUpdate();
    const account = await lock.executeTakeFirst();
    if (!account) throw new ApiError(404, 'not_found', 'Account not found.');
    return fn(trx);
  });
}

export async function balanceOf(db: Db, accountId: string): Promise<{ balanceMilli: bigint; cursor: string }> {
  const row = await db
    .selectFrom('ledger_transactions')
    .select([sql<bigint>`coalesce(sum(credits), 0)`.as('balance'), sql<bigint>`coalesce(max(seq), 0)`.as('cursor')])
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  return { balanceMilli: BigInt(row.balance), cursor: String(row.cursor) };
}

function pushedRow(
  accountId: string,
  memberId: string,
  t: PushedTransaction,
  receivedAt: string,
): Insertable<LedgerTransactionsTable> {
  const u = t.usage;
  return {
    account_id: accountId,
    id: t.id,
    member_id: memberId,
    type: t.type,
    credits: BigInt(t.creditsMilli),
    usd_cost: t.usdCostNano === null ? null : BigInt(t.usdCostNano),
    project: t.project,
    description: t.description,
    created_at: t.createdAt,
    received_at: receivedAt,
    external_transaction_id: null,
    usage_id: u?.id ?? null,
    provider: u?.provider ?? null,
    model: u?.model ?? null,
    task: u?.task ?? null,
    input_tokens: u ? BigInt(u.inputTokens) : null,
    output_tokens: u ? BigInt(u.outputTokens) : null,
    cost_source: u?.costSource ?? null,
    tokens_estimated: u ? (u.tokensEstimated ? 1 : 0) : null,
    latency_ms: u?.latencyMs == null ? null : BigInt(u.latencyMs),
    usage_status: u?.status ?? null,
  };
}

/**
 * Records a batch of a member's transactions atomically. Keyed by the client's transaction UUIDs:
 * a retried batch inserts nothing and answers the same counts. Usage is accepted even when it takes
 * the balance below zero — offline spend already happened; clients stop paid calls until credits
 * arrive. A UUID reused with different content is refused (409) and the whole batch rolls back.
 */
export async function pushTransactions(
  server: ServerDb,
  who: { accountId: string; memberId: string },
  transactions: PushedTransaction[],
  now = new Date(),
): Promise<PushResponse> {
  const ids = new Set<string>();
  for (const t of transactions) {
    if (ids.has(t.id)) throw new ApiError(400, 'duplicate_id', `Transaction ${t.id} appears twice in the batch.`);
    ids.add(t.id);
  }
  return withAccountLock(server, who.accountId, async (trx) => {
    const receivedAt = now.toISOString();
    const inserted = await trx
      .insertInto('ledger_transactions')
      .values(transactions.map((t) => pushedRow(who.accountId, who.memberId, t, receivedAt)))
      .onConflict((oc) => oc.columns(['account_id', 'id']).doNothing())
      .returning('id')
      .execute();
    const fresh = new Set(inserted.map((r) => r.id));
    const repeated = transactions.filter((t) => !fresh.has(t.id));
    if (repeated.length > 0) await checkRepeats(trx, who.accountId, repeated);
    const { balanceMilli, cursor } = await balanceOf(trx, who.accountId);
    return {
      accepted: fresh.size,
      duplicates: repeated.length,
      balanceMilli: Number(balanceMilli),
      cursor,
    };
  });
}

/** A repeated UUID must be the same transaction; otherwise one of the two would be lost. */
async function checkRepeats(trx: Db, accountId: string, repeated: PushedTransaction[]): Promise<void> {
  const existing = await trx
    .selectFrom('ledger_transactions')
    .select(['id', 'type', 'credits'])
    .where('account_id', '=', accountId)
    .where(
      'id',
      'in',
      repeated.map((t) => t.id),
    )
    .execute();
  const byId = new Map(existing.map((r) => [r.id, r]));
  for (const t of repeated) {
    const row = byId.get(t.id);
    if (!row || row.type !== t.type || BigInt(row.credits) !== BigInt(t.creditsMilli))
      throw new ApiError(
        409,
        'id_conflict',
        `Transaction ${t.id} was already recorded with different content; nothing in this batch was recorded.`,
      );
  }
}

function pulled(row: Row & { member: string | null }): PulledTransaction {
  const usage =
    row.usage_id && row.provider && row.model && row.task
      ? {
          id: row.usage_id,
          provider: row.provider,
          model: row.model,
          task: row.task,
          inputTokens: Number(row.input_tokens ?? 0n),
          outputTokens: Number(row.output_tokens ?? 0n),
          costSource: row.cost_source ?? 'table',
          tokensEstimated: Number(row.tokens_estimated ?? 0) === 1,
          latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
          status: row.usage_status === 'failed' ? ('failed' as const) : ('ok' as const),
        }
      : null;
  return {
    id: row.id,
    cursor: String(row.seq),
    type: row.type as PulledTransaction['type'],
    creditsMilli: Number(row.credits),
    usdCostNano: row.usd_cost === null ? null : Number(row.usd_cost),
    project: row.project,
    description: row.description,
    createdAt: row.created_at,
    member: row.member,
    externalTransactionId: row.external_transaction_id,
    usage,
  };
}

/** The account's transactions after `after`, in `seq` order (stable: rows never move). */
export async function pullTransactions(
  server: ServerDb,
  accountId: string,
  after: string | undefined,
  limit: number,
): Promise<{ transactions: PulledTransaction[]; cursor: string; hasMore: boolean }> {
  const afterSeq = BigInt(after ?? '0');
  const rows = await server.db
    .selectFrom('ledger_transactions as t')
    .leftJoin('members as m', 'm.id', 't.member_id')
    .selectAll('t')
    .select('m.name as member')
    .where('t.account_id', '=', accountId)
    .where('t.seq', '>', afterSeq)
    .orderBy('t.seq')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  return {
    transactions: page.map(pulled),
    cursor: page.length > 0 ? String(page[page.length - 1]!.seq) : afterSeq.toString(),
    hasMore: rows.length > limit,
  };
}

export interface CreditInput {
  accountId: string;
  creditsMilli: bigint;
  description: string;
  /** Purchases: the payment's id; a second purchase with it credits nothing. */
  externalTransactionId?: string;
}

export interface CreditResult {
  transactionId: string;
  duplicate: boolean;
  balanceMilli: bigint;
}

/** A grant (admin) or a purchase (admin or payment webhook), idempotent by external id. */
export async function creditAccount(
  server: ServerDb,
  type: 'grant' | 'purchase',
  input: CreditInput,
  now = new Date(),
): Promise<CreditResult> {
  if (input.creditsMilli <= 0n) throw new ApiError(400, 'bad_amount', 'Credits to add must be positive.');
  return withAccountLock(server, input.accountId, async (trx) => {
    const external = input.externalTransactionId ?? null;
    if (external !== null) {
      const previous = await trx
        .selectFrom('ledger_transactions')
        .select(['id', 'account_id', 'credits'])
        .where('external_transaction_id', '=', external)
        .executeTakeFirst();
      if (previous) {
        if (previous.account_id !== input.accountId || BigInt(previous.credits) !== input.creditsMilli)
          throw new ApiError(
            409,
            'external_id_conflict',
            `External transaction "${external.slice(0, 200)}" was already credited with a different amount or account.`,
          );
        return { transactionId: previous.id, duplicate: true, ...(await balanceOf(trx, input.accountId)) };
      }
    }
    const id = randomUUID();
    const at = now.toISOString();
    await insertCredit(trx, { id, at, type, input, external });
    return { transactionId: id, duplicate: false, ...(await balanceOf(trx, input.accountId)) };
  });
}

async function insertCredit(
  trx: Db,
  row: { id: string; at: string; type: 'grant' | 'purchase'; input: CreditInput; external: string | null },
): Promise<void> {
  const { id, at, type, input, external } = row;
  try {
    await trx
      .insertInto('ledger_transactions')
      .values({
        account_id: input.accountId,
        id,
        member_id: null,
        type,
        credits: input.creditsMilli,
        usd_cost: null,
        project: null,
        description: input.description,
        created_at: at,
        received_at: at,
        external_transaction_id: external,
      })
      .execute();
  } catch (error) {
    // The same payment credited to another account at the same moment: the unique index decides.
    if (external !== null && isUniqueViolation(error))
      throw new ApiError(
        409,
        'external_id_conflict',
        `External transaction "${external.slice(0, 200)}" was already credited.`,
      );
    throw error;
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
