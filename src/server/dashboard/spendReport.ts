import { sql, type ExpressionBuilder, type RawBuilder } from 'kysely';
import type { ServerDb } from '../database.js';
import type { ServerDatabase, SqlDialectName } from '../schema.js';
import { balanceOf } from '../teamLedger.js';

/**
 * What the dashboard shows, summed in SQL from the same integer ledger rows the API serves: credits
 * in milli-credits, USD in nano-USD, never a float. Spend is the `usage_deduction` rows (credits
 * are negative there; shown as a positive amount spent).
 */

/** Whose lines a viewer may see: an admin every member's, a member only their own. */
export interface ReportScope {
  accountId: string;
  /** Set for a plain member: member lines are limited to this member (totals stay account-wide). */
  onlyMemberId?: string | undefined;
}

export interface SpendTotals {
  calls: bigint;
  tokens: bigint;
  usdNano: bigint;
  creditsMilli: bigint;
}

export interface SpendLine extends SpendTotals {
  key: string;
  label: string;
}

export type Grain = 'day' | 'week';
export type SeriesBy = 'model' | 'task';
export const SORT_KEYS = ['label', 'calls', 'tokens', 'usdNano', 'creditsMilli'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export interface Sort {
  key: SortKey;
  dir: 'asc' | 'desc';
}

const DAY_MS = 86_400_000;

function spendSelection() {
  return [
    sql<bigint>`count(*)`.as('calls'),
    sql<bigint>`coalesce(sum(coalesce(t.input_tokens, 0) + coalesce(t.output_tokens, 0)), 0)`.as('tokens'),
    sql<bigint>`coalesce(sum(t.usd_cost), 0)`.as('usdNano'),
    sql<bigint>`coalesce(-sum(t.credits), 0)`.as('creditsMilli'),
  ] as const;
}

/** The account's usage rows, made after `since` (an ISO time) when given. */
function usageRows(server: ServerDb, accountId: string, since?: string) {
  const rows = server.db
    .selectFrom('ledger_transactions as t')
    .where('t.account_id', '=', accountId)
    .where('t.type', '=', 'usage_deduction');
  return since === undefined ? rows : rows.where('t.created_at', '>', since);
}

function totals(row: { calls: bigint; tokens: bigint; usdNano: bigint; creditsMilli: bigint }): SpendTotals {
  return {
    calls: BigInt(row.calls),
    tokens: BigInt(row.tokens),
    usdNano: BigInt(row.usdNano),
    creditsMilli: BigInt(row.creditsMilli),
  };
}

export interface BalanceOutlook {
  balanceMilli: bigint;
  /** Credits spent in the 7 days up to now. */
  weekSpendMilli: bigint;
  /** Whole days the balance lasts at this week's rate; undefined when nothing was spent or nothing is left. */
  daysLeft: bigint | undefined;
}

export async function balanceOutlook(server: ServerDb, accountId: string, now = new Date()): Promise<BalanceOutlook> {
  const { balanceMilli } = await balanceOf(server.db, accountId);
  const since = new Date(now.getTime() - 7 * DAY_MS).toISOString();
  const week = await usageRows(server, accountId, since)
    .select(sql<bigint>`coalesce(-sum(t.credits), 0)`.as('spent'))
    .executeTakeFirstOrThrow();
  const weekSpendMilli = BigInt(week.spent);
  const daysLeft = weekSpendMilli > 0n && balanceMilli > 0n ? (balanceMilli * 7n) / weekSpendMilli : undefined;
  return { balanceMilli, weekSpendMilli, daysLeft };
}

/** The first day (YYYY-MM-DD) of the row's day or ISO week (Monday), as text on both databases. */
function bucketOf(dialect: SqlDialectName, grain: Grain): RawBuilder<string> {
  if (grain === 'day') return sql<string>`substr(t.created_at, 1, 10)`;
  return dialect === 'postgres'
    ? sql<string>`to_char(date_trunc('week', substr(t.created_at, 1, 10)::timestamp), 'YYYY-MM-DD')`
    : sql<string>`date(substr(t.created_at, 1, 10), 'weekday 0', '-6 days')`;
}

export interface SeriesPoint {
  bucket: string;
  key: string;
  creditsMilli: bigint;
}

/** Credits spent per day (last 30) or week (last 12), split by model or task, oldest first. */
export async function spendSeries(
  server: ServerDb,
  accountId: string,
  grain: Grain,
  by: SeriesBy,
  now = new Date(),
): Promise<SeriesPoint[]> {
  const days = grain === 'day' ? 30 : 12 * 7;
  const since = new Date(now.getTime() - days * DAY_MS).toISOString().slice(0, 10);
  const bucket = bucketOf(server.dialect, grain);
  const key = sql<string>`coalesce(${sql.ref(`t.${by}`)}, '(none)')`;
  const rows = await usageRows(server, accountId)
    .where('t.created_at', '>=', since)
    .select([bucket.as('bucket'), key.as('key'), sql<bigint>`coalesce(-sum(t.credits), 0)`.as('creditsMilli')])
    .groupBy([bucket, key])
    .orderBy(bucket)
    .orderBy(key)
    .execute();
  return rows.map((r) => ({ bucket: r.bucket, key: r.key, creditsMilli: BigInt(r.creditsMilli) }));
}

/** Spend per member (since an ISO time, or ever); a plain member sees their own line only. */
export async function spendByMember(
  server: ServerDb,
  scope: ReportScope,
  sort: Sort,
  since?: string,
): Promise<SpendLine[]> {
  let query = usageRows(server, scope.accountId, since)
    .leftJoin('members as m', 'm.id', 't.member_id')
    .select([sql<string>`coalesce(t.member_id, '')`.as('key'), sql<string>`coalesce(m.name, '(none)')`.as('label')])
    .select(spendSelection())
    .groupBy(['t.member_id', 'm.name']);
  if (scope.onlyMemberId) query = query.where('t.member_id', '=', scope.onlyMemberId);
  // A whitelisted output column (never user text), then the label so ties keep one order.
  const rows = await query.orderBy(sql.ref(sort.key), sort.dir).orderBy(sql.ref('label')).execute();
  return rows.map(spendLine);
}

/** Spend per repository (the project a client reported), account-wide, since an ISO time or ever. */
export async function spendByProject(
  server: ServerDb,
  scope: ReportScope,
  sort: Sort,
  since?: string,
): Promise<SpendLine[]> {
  const label = sql<string>`coalesce(t.project, '(none)')`;
  const query = usageRows(server, scope.accountId, since)
    .select([label.as('key'), label.as('label')])
    .select(spendSelection())
    .groupBy(label);
  // A whitelisted output column (never user text), then the label so ties keep one order.
  const rows = await query.orderBy(sql.ref(sort.key), sort.dir).orderBy(sql.ref('label')).execute();
  return rows.map(spendLine);
}

export async function spendTotals(server: ServerDb, accountId: string, since?: string): Promise<SpendTotals> {
  return totals(await usageRows(server, accountId, since).select(spendSelection()).executeTakeFirstOrThrow());
}

interface SpendRow {
  key: string;
  label: string;
  calls: bigint;
  tokens: bigint;
  usdNano: bigint;
  creditsMilli: bigint;
}

function spendLine(row: SpendRow): SpendLine {
  return { key: row.key, label: row.label, ...totals(row) };
}

export const TRANSACTION_TYPES = ['initial_grant', 'grant', 'purchase', 'usage_deduction', 'sync_adjustment'] as const;

export interface TransactionFilter {
  type?: (typeof TRANSACTION_TYPES)[number] | undefined;
  memberId?: string | undefined;
  model?: string | undefined;
  task?: string | undefined;
  project?: string | undefined;
  /** Inclusive days, YYYY-MM-DD (UTC). */
  from?: string | undefined;
  to?: string | undefined;
}

export interface TransactionLine {
  seq: bigint;
  createdAt: string;
  type: string;
  member: string | null;
  project: string | null;
  model: string | null;
  task: string | null;
  tokens: bigint | null;
  usdNano: bigint | null;
  creditsMilli: bigint;
  description: string;
}

function filtered(
  eb: ExpressionBuilder<ServerDatabase & { t: ServerDatabase['ledger_transactions'] }, 't'>,
  scope: ReportScope,
  filter: TransactionFilter,
) {
  const conditions = [eb('t.account_id', '=', scope.accountId)];
  // A member sees the account's own lines (grants, purchases: no member) and their own usage.
  if (scope.onlyMemberId)
    conditions.push(eb.or([eb('t.member_id', '=', scope.onlyMemberId), eb('t.member_id', 'is', null)]));
  if (filter.type) conditions.push(eb('t.type', '=', filter.type));
  if (filter.memberId) conditions.push(eb('t.member_id', '=', filter.memberId));
  for (const column of ['model', 'task', 'project'] as const) {
    const value = filter[column];
    if (value) conditions.push(eb(`t.${column}`, '=', value));
  }
  if (filter.from) conditions.push(eb('t.created_at', '>=', filter.from));
  if (filter.to) conditions.push(eb('t.created_at', '<', nextDay(filter.to)));
  return eb.and(conditions);
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/** The newest transactions matching the filter (grants, purchases and usage), by when they happened. */
export async function latestTransactions(
  server: ServerDb,
  scope: ReportScope,
  filter: TransactionFilter,
  limit: number,
): Promise<TransactionLine[]> {
  const rows = await server.db
    .selectFrom('ledger_transactions as t')
    .leftJoin('members as m', 'm.id', 't.member_id')
    .select(['t.seq', 't.created_at', 't.type', 'm.name as member', 't.project', 't.model', 't.task'])
    .select(['t.input_tokens', 't.output_tokens', 't.usd_cost', 't.credits', 't.description'])
    .where((eb) => filtered(eb, scope, filter))
    .orderBy('t.created_at', 'desc')
    .orderBy('t.seq', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    seq: BigInt(r.seq),
    createdAt: r.created_at,
    type: r.type,
    member: r.member,
    project: r.project,
    model: r.model,
    task: r.task,
    tokens: r.input_tokens === null ? null : BigInt(r.input_tokens) + BigInt(r.output_tokens ?? 0n),
    usdNano: r.usd_cost === null ? null : BigInt(r.usd_cost),
    creditsMilli: BigInt(r.credits),
    description: r.description,
  }));
}

export interface FilterChoices {
  members: { id: string; name: string }[];
  models: string[];
  tasks: string[];
  projects: string[];
}

/** The values the filter form offers: what occurs in the account's rows the viewer may see. */
export async function filterChoices(server: ServerDb, scope: ReportScope): Promise<FilterChoices> {
  let members = server.db
    .selectFrom('members')
    .select(['id', 'name'])
    .where('account_id', '=', scope.accountId)
    .orderBy('name');
  if (scope.onlyMemberId) members = members.where('id', '=', scope.onlyMemberId);
  // One scan for the three lists (the distinct combinations are few), sorted and deduplicated here.
  const [memberRows, combinations] = await Promise.all([
    members.execute(),
    usageRows(server, scope.accountId).select(['t.model', 't.task', 't.project']).distinct().execute(),
  ]);
  const values = (column: 'model' | 'task' | 'project') =>
    [...new Set(combinations.map((c) => c[column]).filter((v): v is string => v !== null))].sort();
  const [models, tasks, projects] = [values('model'), values('task'), values('project')];
  return { members: memberRows, models, tasks, projects };
}
