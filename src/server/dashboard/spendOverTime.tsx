import { formatCredits } from '../../core/ledger/money.js';
import { chartSeries } from './chartSeries.js';
import type { DashboardProps } from './dashboardProps.js';
import type { SeriesBy, SeriesPoint } from './spendReport.js';

/** The two stacked charts (by model, by task) per day or week, each with its figures as a table. */
export function SpendOverTime(props: DashboardProps) {
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
      <div className="table-wrap">
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
      </div>
    </details>
  );
}
