import { stringify } from 'csv-stringify/sync';
import type { ServerDb } from '../database.js';
import { periodStart, transactionFilter, type DashboardQuery } from './dashboardQuery.js';
import {
  latestTransactions,
  spendByMember,
  spendByProject,
  spendSeries,
  type ReportScope,
  type SpendLine,
} from './spendReport.js';

export const CSV_FILES = ['members.csv', 'projects.csv', 'transactions.csv', 'spend.csv'] as const;
export type CsvFile = (typeof CSV_FILES)[number];

/** The most transaction rows one export holds (the page shows 100). */
export const CSV_MAX_ROWS = 100_000;

/** An exact decimal of a scaled integer: 12345n, 3 → "12.345" (no float on the way). */
export function fixedPoint(value: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const abs = value < 0n ? -value : value;
  const fraction = (abs % scale).toString().padStart(decimals, '0');
  return `${value < 0n ? '-' : ''}${abs / scale}.${fraction}`;
}

/** Free text (names, descriptions) that a spreadsheet would run as a formula gets a leading quote. */
const text = (value: string | null) => (value === null ? '' : /^[=+\-@\t\r]/.test(value) ? `'${value}` : value);

const money = (usdNano: bigint | null, creditsMilli: bigint) => [
  usdNano === null ? '' : String(usdNano),
  usdNano === null ? '' : fixedPoint(usdNano, 9),
  String(creditsMilli),
  fixedPoint(creditsMilli, 3),
];
const MONEY_HEADER = ['usd_nano', 'usd', 'credits_milli', 'credits'];

function spendRows(nameHeader: string, lines: SpendLine[]): string[][] {
  return [
    [nameHeader, 'calls', 'tokens', ...MONEY_HEADER],
    ...lines.map((l) => [text(l.label), String(l.calls), String(l.tokens), ...money(l.usdNano, l.creditsMilli)]),
  ];
}

async function transactionRows(server: ServerDb, scope: ReportScope, query: DashboardQuery): Promise<string[][]> {
  const lines = await latestTransactions(server, scope, transactionFilter(query), CSV_MAX_ROWS);
  const header = ['created_at', 'type', 'member', 'repository', 'model', 'task', 'tokens', ...MONEY_HEADER];
  const rows = lines.map((t) => [
    t.createdAt,
    t.type,
    text(t.member),
    text(t.project),
    text(t.model),
    text(t.task),
    t.tokens === null ? '' : String(t.tokens),
    ...money(t.usdNano, t.creditsMilli),
    text(t.description),
  ]);
  return [[...header, 'description'], ...rows];
}

async function seriesRows(server: ServerDb, scope: ReportScope, query: DashboardQuery): Promise<string[][]> {
  const rows: string[][] = [['period_from', 'grain', 'by', 'key', 'credits_milli', 'credits']];
  for (const by of ['model', 'task'] as const) {
    for (const p of await spendSeries(server, scope.accountId, query.grain, by))
      rows.push([p.bucket, query.grain, by, text(p.key), String(p.creditsMilli), fixedPoint(p.creditsMilli, 3)]);
  }
  return rows;
}

/**
 * The same data as the page, as CSV: exact integers (milli-credits, nano-USD) beside exact
 * decimals. Text cells starting with = + - @ are quoted so a spreadsheet never runs them as formulas
 * (numbers are left alone: a negative amount must stay a number).
 */
export async function csvExport(
  server: ServerDb,
  scope: ReportScope,
  query: DashboardQuery,
  file: CsvFile,
): Promise<string> {
  let rows: string[][];
  const since = periodStart(query.period);
  if (file === 'members.csv') rows = spendRows('member', await spendByMember(server, scope, query.msort, since));
  else if (file === 'projects.csv')
    rows = spendRows('repository', await spendByProject(server, scope, query.psort, since));
  else if (file === 'transactions.csv') rows = await transactionRows(server, scope, query);
  else rows = await seriesRows(server, scope, query);
  return stringify(rows, { record_delimiter: 'windows' });
}
