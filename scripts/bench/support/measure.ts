/** Measuring pieces shared by the benchmarks (not an entry point: build.mjs bundles only scripts/bench/*.ts). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder with a package.json: this file runs bundled from dist/bench or dist/chunks. */
function findProjectRoot(from: string): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
const cli = path.join(projectRoot, 'bin', 'ai-dev-bot.js');

/**
 * Preloaded into CLI children: reports the process's peak RSS on stderr as it exits. VmHWM, not
 * getrusage's maxRSS: that survives execve, so a child of this (large) process would report our peak.
 */
const PEAK_RSS_HOOK = `data:text/javascript,${encodeURIComponent(
  'import { readFileSync, writeSync } from "node:fs";' +
    'process.on("exit", () => {' +
    '  const hwm = /VmHWM:\\s*(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"));' +
    '  writeSync(2, `\\nbench-peak-rss-kib ${hwm ? hwm[1] : process.resourceUsage().maxRSS}\\n`);' +
    '});',
)}`;

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function shuffleWithSeed<T>(items: T[], seed = 42): T[] {
  const out = [...items];
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface CliRun {
  /** Process wall time, start to exit. */
  ms: number;
  /** Peak resident set of the CLI process. */
  peakRssMiB: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- CLI JSON of several commands
  json: any;
}

/** Runs `ai-dev-bot <args> --json`-style commands and returns their JSON, wall time and peak RSS. */
export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): CliRun {
  const started = performance.now();
  const res = spawnSync(process.execPath, ['--import', PEAK_RSS_HOOK, cli, ...args], {
    cwd,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  if (res.status !== 0) throw new Error(`ai-dev-bot ${args.join(' ')} failed (${res.status}): ${res.stderr}`);
  const rss = /bench-peak-rss-kib (\d+)/.exec(res.stderr);
  return { ms, peakRssMiB: rss ? Number(rss[1]) / 1024 : NaN, json: JSON.parse(res.stdout) };
}
