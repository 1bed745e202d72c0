import type { SeriesPoint } from './spendReport.js';

/** What the browser script draws: one stacked dataset per model (or task), credits per bucket. */
export interface ChartSeries {
  labels: string[];
  datasets: { label: string; data: number[] }[];
}

/** Pivots (bucket, key, credits) rows into aligned datasets; a missing (bucket, key) is zero. */
export function chartSeries(points: SeriesPoint[]): ChartSeries {
  const labels = [...new Set(points.map((p) => p.bucket))].sort();
  const keys = [...new Set(points.map((p) => p.key))].sort();
  const at = new Map(points.map((p) => [`${p.bucket}\u0000${p.key}`, p.creditsMilli]));
  return {
    labels,
    datasets: keys.map((key) => ({
      label: key,
      // Plotting only: the exact figures are in the tables.
      data: labels.map((bucket) => Number(at.get(`${bucket}\u0000${key}`) ?? 0n) / 1000),
    })),
  };
}
