/**
 * Start-up benchmark (`npm run bench:startup`): wall time from spawn to exit of `ai-dev-bot --help`,
 * `credits`, `status` and `status --json` in a repository mid-plan, each against `node -e 0`
 * measured in the same run (the floor of any Node CLI here). Prints medians and the ratios.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPlan } from '../../src/core/plan/planFile.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'ai-dev-bot.js');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function time(args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const res = spawnSync(process.execPath, args, { cwd, env, stdio: 'ignore' });
  if (res.status !== 0) throw new Error(`${args.join(' ')} exited ${res.status}`);
  return performance.now() - started;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'aidb-bench-startup-'));
try {
  const repo = path.join(tmp, 'repo');
  execFileSync('git', ['init', '-q', repo]);
  writeFileSync(path.join(repo, 'a.js'), 'export const a = 1;\n');
  const item = { files: ['a.js'], action: 'do it', verification: 'done' };
  writeFileSync(
    path.join(repo, 'TODO.md'),
    renderPlan({
      goal: 'bench',
      items: [
        { id: 'P1', title: 'one', status: 'done', ...item },
        { id: 'P2', title: 'two', status: 'open', ...item },
      ],
    }),
  );
  const env = { ...process.env, AI_DEV_BOT_HOME: path.join(tmp, 'home'), CI: '' };
  // The first run creates the ledger; start-up is measured on the warm state a user has.
  time([cli, 'status'], repo, env);
  const cases: Array<[string, string[]]> = [
    ['node -e 0', ['-e', '0']],
    ['ai-dev-bot --help', [cli, '--help']],
    ['ai-dev-bot credits', [cli, 'credits']],
    ['ai-dev-bot status', [cli, 'status']],
    ['ai-dev-bot status --json', [cli, 'status', '--json']],
  ];
  const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  // Interleaved, so a busy moment on the machine hits every case alike.
  for (let i = 0; i < RUNS; i++) for (const [name, args] of cases) samples.get(name)!.push(time(args, repo, env));
  const base = median(samples.get('node -e 0')!);
  console.log(`start-up, median of ${RUNS} runs (wall time, spawn to exit):`);
  for (const [name] of cases) {
    const m = median(samples.get(name)!);
    console.log(
      `  ${name.padEnd(26)} ${m.toFixed(0).padStart(5)} ms   ${(m / base).toFixed(2)}× node -e 0   +${(m - base).toFixed(0)} ms`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
