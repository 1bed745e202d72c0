import { formatCredits, formatUsd } from '../../core/ledger/money.js';
import type { DashboardProps } from './dashboardProps.js';
import { ExportLink } from './layout.js';
import { TRANSACTION_TYPES, type TransactionLine } from './spendReport.js';

function Select(props: { name: string; label: string; value: string | undefined; options: [string, string][] }) {
  return (
    <div className="field">
      <label htmlFor={`filter-${props.name}`}>{props.label}</label>
      <select id={`filter-${props.name}`} name={props.name} defaultValue={props.value ?? ''}>
        <option value="">All</option>
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

function DateField(props: { name: string; label: string; value: string | undefined }) {
  return (
    <div className="field">
      <label htmlFor={`filter-${props.name}`}>{props.label}</label>
      <input id={`filter-${props.name}`} type="date" name={props.name} defaultValue={props.value} />
    </div>
  );
}

const pairs = (values: string[]): [string, string][] => values.map((v) => [v, v]);

/** The newest transactions, a filter form (GET) and the CSV link carrying the same filter. */
export function Transactions(props: DashboardProps) {
  const { query, data } = props;
  return (
    <section aria-labelledby="tx-title">
      <h2 id="tx-title">Latest transactions</h2>
      {/* GET: filtering changes nothing on the server, and the filtered view can be bookmarked. */}
      <form className="filters" method="get" aria-label="Filter transactions">
        <input type="hidden" name="grain" value={query.grain} />
        <Select name="type" label="Type" value={query.type} options={pairs([...TRANSACTION_TYPES])} />
        <Select
          name="member"
          label="Member"
          value={query.member}
          options={data.choices.members.map((m) => [m.id, m.name])}
        />
        <Select name="model" label="Model" value={query.model} options={pairs(data.choices.models)} />
        <Select name="task" label="Task" value={query.task} options={pairs(data.choices.tasks)} />
        <Select name="project" label="Repository" value={query.project} options={pairs(data.choices.projects)} />
        <DateField name="from" label="From" value={query.from} />
        <DateField name="to" label="To" value={query.to} />
        <button type="submit">Filter</button>
      </form>
      <ExportLink href={props.href({}, 'export/transactions.csv')} what="these transactions" />
      <TransactionTable lines={data.transactions} />
    </section>
  );
}

function TransactionTable(props: { lines: TransactionLine[] }) {
  const headers = [
    'When (UTC)',
    'Type',
    'Member',
    'Repository',
    'Model',
    'Task',
    'Tokens',
    'USD',
    'Credits',
    'Description',
  ];
  return (
    <div className="table-wrap">
      <table id="transactions">
        <caption>Newest first, at most 100 rows (the CSV has them all)</caption>
        <thead>
          <tr>
            {headers.map((h, i) => (
              <th key={h} scope="col" className={i >= 6 && i <= 8 ? 'num' : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.lines.map((t) => (
            <tr key={String(t.seq)}>
              <td>{t.createdAt.replace('T', ' ').slice(0, 19)}</td>
              <td>{t.type}</td>
              <td>{t.member ?? '—'}</td>
              <td>{t.project ?? '—'}</td>
              <td>{t.model ?? '—'}</td>
              <td>{t.task ?? '—'}</td>
              <td className="num">{t.tokens === null ? '—' : t.tokens.toLocaleString('en-US')}</td>
              <td className="num">{t.usdNano === null ? '—' : formatUsd(t.usdNano)}</td>
              <td className="num" data-milli={String(t.creditsMilli)}>
                {formatCredits(t.creditsMilli)}
              </td>
              <td>{t.description}</td>
            </tr>
          ))}
          {props.lines.length === 0 && (
            <tr>
              <td colSpan={headers.length}>No transactions match.</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
