/// <reference lib="dom" />
// The dashboard's only script, bundled by scripts/build.mjs and served from the server itself (no
// CDN, so the page works offline). The data comes in a data-series attribute written by the server
// (escaped there): no inline script, so the Content-Security-Policy can stay `script-src 'self'`.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

interface Series {
  labels: string[];
  datasets: { label: string; data: number[] }[];
}

// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

function drawChart(canvas: HTMLCanvasElement): void {
  const series = JSON.parse(canvas.dataset.series ?? '{"labels":[],"datasets":[]}') as Series;
  new Chart(canvas, {
    type: 'bar',
    data: {
      labels: series.labels,
      // A dark outline keeps the lighter fills (orange, yellow) at 3:1 against the white background.
      datasets: series.datasets.map((d, i) => ({
        ...d,
        backgroundColor: PALETTE[i % PALETTE.length],
        borderColor: '#1a1a1a',
        borderWidth: 1,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'credits' } } },
      plugins: { legend: { position: 'bottom' } },
    },
  });
  canvas.dataset.rendered = 'true';
}

document.querySelectorAll<HTMLCanvasElement>('canvas[data-series]').forEach(drawChart);
