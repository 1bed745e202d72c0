import { formatCredits, formatUsd } from '../../core/ledger/money.js';
import type { Sort, SortKey, SpendLine, SpendTotals } from './spendReport.js';

const COLUMNS: { key: SortKey; title: string; numeric: boolean }[] = [
  { key: 'label', title: 'Name', numeric: false },
  { key: 'calls', title: 'Calls', numeric: true },
  { key: 'tokens', title: 'Tokens', numeric: true },
  { key: 'usdNano', title: 'USD', numeric: true },
  { key: 'creditsMilli', title: 'Credits', numeric: true },
];

/** The four figures of a spend line; exact integers ride along in data-* for checks and scripts. */
export function SpendCells(props: { line: SpendTotals }) {
  const { line } = props;
  return (
    <>
      <td className="num" data-calls={String(line.calls)}>
        {line.calls.toLocaleString('en-US')}
      </td>
      <td className="num" data-tokens={String(line.tokens)}>
        {line.tokens.toLocaleString('en-US')}
      </td>
      <td className="num" data-nano={String(line.usdNano)}>
        {formatUsd(line.usdNano)}
      </td>
      <td className="num" data-milli={String(line.creditsMilli)}>
        {formatCredits(line.creditsMilli)}
      </td>
    </>
  );
}

function SortHeader(props: { column: (typeof COLUMNS)[number]; sort: Sort; href: (sort: Sort) => string }) {
  const { column, sort } = props;
  const active = sort.key === column.key;
  // Activating the current column flips its direction; another column starts with the largest first.
  const next: Sort = active
    ? { key: column.key, dir: sort.dir === 'asc' ? 'desc' : 'asc' }
    : { key: column.key, dir: column.numeric ? 'desc' : 'asc' };
  const ariaSort = active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : undefined;
  return (
    <th scope="col" className={column.numeric ? 'num' : undefined} aria-sort={ariaSort}>
      <a href={props.href(next)}>
        {column.title}
        <span aria-hidden="true">{active ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
        <span className="visually-hidden">, sort {next.dir === 'asc' ? 'ascending' : 'descending'}</span>
      </a>
    </th>
  );
}

/** A spend table sorted on the server: each header is a link, so sorting works by keyboard and without script. */
export function SpendTable(props: {
  id: string;
  caption: string;
  nameTitle: string;
  lines: SpendLine[];
  total?: { label: string; line: SpendTotals } | undefined;
  sort: Sort;
  href: (sort: Sort) => string;
}) {
  const columns = COLUMNS.map((c) => (c.key === 'label' ? { ...c, title: props.nameTitle } : c));
  return (
    <div className="table-wrap">
      <table id={props.id}>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <SortHeader key={column.key} column={column} sort={props.sort} href={props.href} />
            ))}
          </tr>
        </thead>
        <tbody>
          {props.lines.map((line) => (
            <tr key={line.key}>
              <th scope="row">{line.label}</th>
              <SpendCells line={line} />
            </tr>
          ))}
          {props.lines.length === 0 && (
            <tr>
              <td colSpan={5}>No usage yet.</td>
            </tr>
          )}
        </tbody>
        {props.total && (
          <tfoot>
            <tr>
              <th scope="row">{props.total.label}</th>
              <SpendCells line={props.total.line} />
            </tr>
          </tfoot>
        )}
      </table>
    </div>
  );
}
