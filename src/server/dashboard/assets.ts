import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A browser asset held in memory, served under a content-hashed name with an immutable cache. */
export interface DashboardAsset {
  /** e.g. `/assets/charts-3f9a…js` */
  url: string;
  body: Buffer;
  contentType: string;
}

export interface DashboardAssets {
  script: DashboardAsset;
  stylesheet: DashboardAsset;
  byName: Map<string, DashboardAsset>;
}

function load(dir: string, file: string, contentType: string): DashboardAsset {
  const full = path.join(dir, file);
  if (!existsSync(full))
    throw new Error(`The dashboard asset ${full} is missing: run \`npm run build\` (it bundles the dashboard).`);
  const body = readFileSync(full);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  const ext = path.extname(file);
  return { url: `/assets/${path.basename(file, ext)}-${hash}${ext}`, body, contentType };
}

/**
 * Reads the bundles that scripts/build.mjs writes to dist/dashboard/. Two small files: hashing them
 * once at start gives cache-busting names without a build manifest (and every instance of a
 * deployment computes the same names from the same files).
 */
export function loadDashboardAssets(dir: string): DashboardAssets {
  const script = load(dir, 'charts.js', 'text/javascript; charset=utf-8');
  const stylesheet = load(dir, 'dashboard.css', 'text/css; charset=utf-8');
  return { script, stylesheet, byName: new Map([script, stylesheet].map((a) => [path.basename(a.url), a])) };
}
