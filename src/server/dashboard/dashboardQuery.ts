import { z } from 'zod';
import { SORT_KEYS, TRANSACTION_TYPES, type Sort, type TransactionFilter } from './spendReport.js';

const day = z.iso.date();

/** How far back the member and repository tables reach. */
export const PERIODS = ['7d', '30d', 'all'] as const;
export type Period = (typeof PERIODS)[number];

/** The ISO time a period starts at, or undefined for all time. */
export function periodStart(period: Period, now = new Date()): string | undefined {
  if (period === 'all') return undefined;
  return new Date(now.getTime() - Number.parseInt(period, 10) * 86_400_000).toISOString();
}
const text = z.string().min(1).max(200);
/** Empty form fields ("All", a cleared date) mean "no filter". */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** The dashboard's query string: time grain, table sorts, transaction filters. Unknown keys are ignored. */
export const rawDashboardQuery = z.object({
  grain: z.enum(['day', 'week']).default('day'),
  period: z.enum(PERIODS).default('all'),
  msort: z.enum(SORT_KEYS).default('creditsMilli'),
  mdir: z.enum(['asc', 'desc']).default('desc'),
  psort: z.enum(SORT_KEYS).default('creditsMilli'),
  pdir: z.enum(['asc', 'desc']).default('desc'),
  type: optional(z.enum(TRANSACTION_TYPES)),
  member: optional(text),
  model: optional(text),
  task: optional(text),
  project: optional(text),
  from: optional(day),
  to: optional(day),
});

export interface DashboardQuery extends Omit<TransactionFilter, 'memberId'> {
  grain: 'day' | 'week';
  period: Period;
  /** Sort of the member table, and of the repository table. */
  msort: Sort;
  psort: Sort;
  /** A member id (the filter form's value). */
  member?: string | undefined;
}

export function dashboardQuery(raw: z.infer<typeof rawDashboardQuery>): DashboardQuery {
  const { msort, mdir, psort, pdir, ...rest } = raw;
  return { ...rest, msort: { key: msort, dir: mdir }, psort: { key: psort, dir: pdir } };
}

export function transactionFilter(query: DashboardQuery): TransactionFilter {
  const { type, member, model, task, project, from, to } = query;
  return { type, memberId: member, model, task, project, from, to };
}

/** The query string for `query`, leaving out defaults so links stay short. */
export function queryString(query: DashboardQuery): string {
  const params = new URLSearchParams();
  if (query.grain !== 'day') params.set('grain', query.grain);
  if (query.period !== 'all') params.set('period', query.period);
  for (const [prefix, sort] of [
    ['m', query.msort],
    ['p', query.psort],
  ] as const) {
    if (sort.key !== 'creditsMilli' || sort.dir !== 'desc') {
      params.set(`${prefix}sort`, sort.key);
      params.set(`${prefix}dir`, sort.dir);
    }
  }
  for (const key of ['type', 'member', 'model', 'task', 'project', 'from', 'to'] as const) {
    const value = query[key];
    if (value) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
