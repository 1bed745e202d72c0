import { formatCredits, formatUsd } from '../../core/ledger/money.js';
import { ExportLink, Shell } from './layout.js';
import { SpendOverTime } from './spendOverTime.js';
import { PERIODS, type Period } from './dashboardQuery.js';
import { SpendTable } from './spendTable.js';
import { Transactions } from './transactionsSection.js';
import type { BalanceOutlook, Sort, SpendTotals } from './spendReport.js';
import type { DashboardProps } from './dashboardProps.js';

/** The account's page: balance, spend over time, tables by member and repository, transactions. */
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
        <Outlook outlook={data.outlook} totals={data.totals} period={props.query.period} />
        <SpendOverTime {...props} />
        <PeriodNav {...props} />
        <section aria-labelledby="members-title">
          <h2 id="members-title">By member, {PERIOD_LABELS[props.query.period]}</h2>
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
          <h2 id="projects-title">By repository, {PERIOD_LABELS[props.query.period]}</h2>
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

const PERIOD_LABELS: Record<Period, string> = { '7d': 'last 7 days', '30d': 'last 30 days', all: 'all time' };

/** How far back the member and repository tables (and their CSVs) reach. */
function PeriodNav(props: DashboardProps) {
  return (
    <nav className="grain period" aria-label="Period of the tables">
      <span className="muted">Tables cover: </span>
      {PERIODS.map((period) => (
        <a key={period} href={props.href({ period })} aria-current={period === props.query.period ? 'page' : undefined}>
          {PERIOD_LABELS[period]}
        </a>
      ))}
    </nav>
  );
}

function Outlook(props: { outlook: BalanceOutlook; totals: SpendTotals; period: Period }) {
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
          <div className="muted">Usage, {PERIOD_LABELS[props.period]}</div>
          <div className="figure" id="total-usd" data-nano={String(props.totals.usdNano)}>
            {formatUsd(props.totals.usdNano)}
          </div>
        </div>
      </div>
    </section>
  );
}
