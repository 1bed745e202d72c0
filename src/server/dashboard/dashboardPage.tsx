import type { AuthenticatedMember } from '../accounts.js';
import { formatCredits, formatUsd } from '../../core/ledger/money.js';
import { chartSeries } from './chartSeries.js';
import { Shell, type AssetUrls } from './layout.js';
import type { DashboardQuery } from './dashboardQuery.js';
import { SpendTable } from './spendTable.js';
import {
  TRANSACTION_TYPES,
  type BalanceOutlook,
  type FilterChoices,
  type SeriesBy,
  type SeriesPoint,
  type Sort,
  type SpendLine,
  type SpendTotals,
  type TransactionLine,
} from './spendReport.js';

export interface DashboardData {
  outlook: BalanceOutlook;
  series: Record<SeriesBy, SeriesPoint[]>;
  members: SpendLine[];
  projects: SpendLine[];
  totals: SpendTotals;
  transactions: TransactionLine[];
  choices: FilterChoices;
}

export interface DashboardProps {
  member: AuthenticatedMember;
  assets: AssetUrls;
  csrfToken: string;
  query: DashboardQuery;
  /** Builds a link to this page (or an export) with some query fields changed. */
  href: (changes: Partial<DashboardQuery>, path?: string) => string;
  data: DashboardData;
}

export function DashboardPage(props: DashboardProps) {
  const { member, data } = props;
  return (
    <Shell title={`${member.accountName} · ai-dev-bot team ledger`} assets={props.assets}>
      <header>
        <h1>{member.accountName}: credits and spend</h1>
        <form method="post" action="/logout">
          <span className="muted">
            Signed in as {member.memberName} ({member.role === 'admin' ? 'account admin' : 'member'}){' '}
          </span>
          <input type="hidden" name="_csrf" value={props.csrfToken} />
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main>
        <Outlook outlook={data.outlook} totals={data.totals} />
        <SpendOverTime {...props} />
        <section aria-labelledby="members-title">
          <h2 id="members-title">By member</h2>
          <SpendTable
            id="by-member"
            caption={member.role === 'admin' ? 'Every member of the account' : 'Your own line, and the account total'}
            nameTitle="Member"
            lines={data.members}
            total={{ label: 'Account total', line: data.totals }}
            sort={props.query.msort}
            href={(sort: Sort) => props.href({ msort: sort })}
          />
          <ExportLink href={props.href({}, 'export/members.csv')} what="members" />
        </section>
        <section aria-labelledby="projects-title">
          <h2 id="projects-title">By repository</h2>
          <SpendTable
            id="by-project"
            caption="Spend per repository, whole account"
            nameTitle="Repository"
            lines={data.projects}
            total={{ label: 'Account total', line: data.totals }}
            sort={props.query.psort}
            href={(sort: Sort) => props.href({ psort: sort })}
          />
          <ExportLink href={props.href({}, 'export/projects.csv')} what="repositories" />
        </section>
        <Transactions {...props} />
      </main>
    </Shell>
  );
}

function ExportLink(props: { href: string; what: string }) {
  return (
    <p>
      <a href={props.href} download>
        Download {props.what} as CSV
      </a>
    </p>
  );
}

function Outlook(props: { outlook: BalanceOutlook; totals: SpendTotals }) {
  const { outlook } = props;
  const days = outlook.daysLeft;
  return (
    <section aria-labelledby="balance-title">
      <h2 id="balance-title">Balance</h2>
      <div className="cards">
        <div className="card">
          <div className="muted">Balance now</div>
          <div className="figure" id="balance" data-milli={String(outlook.balanceMilli)}>
            {formatCredits(outlook.balanceMilli)} credits
          </div>
        </div>
        <div className="card">
          <div className="muted">Spent in the last 7 days</div>
          <div className="figure" id="week-spend" data-milli={String(outlook.weekSpendMilli)}>
            {formatCredits(outlook.weekSpendMilli)} credits
          </div>
        </div>
        <div className="card">
          <div className="muted">Burn-down</div>
          <div className="figure" id="burn-down" data-days={days === undefined ? '' : String(days)}>
            {outlook.balanceMilli <= 0n
              ? 'No credits left'
              : days === undefined
                ? 'No spend this week'
                : `At this week's rate, credits last ${days.toLocaleString('en-US')} days`}
          </div>
        </div>
        <div className="card">
          <div className="muted">All usage</div>
          <div className="figure" id="total-usd" data-nano={String(props.totals.usdNano)}>
            {formatUsd(props.totals.usdNano)}
          </div>
        </div>
      </div>
    </section>
  );
}

function SpendOverTime(props: DashboardProps) {
  const { grain } = props.query;
  const window = grain === 'day' ? 'per day, last 30 days' : 'per week, last 12 weeks';
  return (
    <section aria-labelledby="time-title">
      <h2 id="time-title">Spend over time</h2>
      <nav className="grain" aria-label="Time grain">
        {(['day', 'week'] as const).map((g) => (
          <span key={g}>
            <a href={props.href({ grain: g })} aria-current={g === grain ? 'page' : undefined}>
              By {g}
            </a>{' '}
          </span>
        ))}
        <a href={props.href({}, 'export/spend.csv')} download>
          Download as CSV
        </a>
      </nav>
      <div className="charts">
        {(['model', 'task'] as const).map((by) => (
          <figure key={by}>
            <figcaption>
              Credits {window}, by {by}
            </figcaption>
            <div className="chart-box">
              <canvas
                id={`chart-${by}`}
                role="img"
                aria-label={`Stacked bar chart: credits spent ${window}, by ${by}. The same figures are in the table below.`}
                data-series={JSON.stringify(chartSeries(props.data.series[by]))}
              />
            </div>
            <SeriesTable by={by} points={props.data.series[by]} />
          </figure>
        ))}
      </div>
    </section>
  );
}

function SeriesTable(props: { by: SeriesBy; points: SeriesPoint[] }) {
  return (
    <details>
      <summary>Chart data as a table</summary>
      <table id={`series-${props.by}`}>
        <thead>
          <tr>
            <th scope="col">Period from</th>
            <th scope="col">{props.by === 'model' ? 'Model' : 'Task'}</th>
            <th scope="col" className="num">
              Credits
            </th>
          </tr>
        </thead>
        <tbody>
          {props.points.map((p) => (
            <tr key={`${p.bucket} ${p.key}`}>
              <td>{p.bucket}</td>
              <td>{p.key}</td>
              <td className="num" data-milli={String(p.creditsMilli)}>
                {formatCredits(p.creditsMilli)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Select(props: { name: string; label: string; value: string | undefined; options: [string, string][] }) {
  return (
    <label>
      {props.label}
      <select name={props.name} defaultValue={props.value ?? ''}>
        <option value="">All</option>
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

const pairs = (values: string[]): [string, string][] => values.map((v) => [v, v]);

function Transactions(props: DashboardProps) {
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
        <label>
          From
          <input type="date" name="from" defaultValue={query.from} />
        </label>
        <label>
          To
          <input type="date" name="to" defaultValue={query.to} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ExportLink href={props.href({}, 'export/transactions.csv')} what="these transactions" />
      <TransactionTable lines={data.transactions} />
    </section>
  );
}

function TransactionTable(props: { lines: TransactionLine[] }) {
  const headers = ['When (UTC)', 'Type', 'Member', 'Repository', 'Model', 'Task', 'Tokens', 'USD', 'Credits'];
  return (
    <div className="table-wrap">
      <table id="transactions">
        <caption>Newest first, at most 100 rows (the CSV has them all)</caption>
        <thead>
          <tr>
            {headers.map((h, i) => (
              <th key={h} scope="col" className={i >= 6 ? 'num' : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.lines.map((t) => (
            <tr key={String(t.seq)} title={t.description}>
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
