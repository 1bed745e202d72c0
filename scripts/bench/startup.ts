/**
 * Start-up benchmark (`npm run bench:startup`): wall time from spawn to exit of `ai-dev-bot --help`,
 * `credits`, `status` and `status --json` in a repository mid-plan, each against `node -e 0`
 * measured in the same run (the floor of any Node CLI here). Prints medians and the ratios, and the
 * CPU time (user + sys, children included, from bash's `times`), which a busy machine distorts less.
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

const seconds = (t: string) => {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};

/** Wall and CPU milliseconds of one run; bash's `times` reports the CPU its children used. */
function time(args: string[], cwd: string, env: NodeJS.ProcessEnv): { wall: number; cpu: number } {
  const started = performance.now();
  const res = spawnSync('bash', ['-c', '"$@" >/dev/null 2>&1 || exit 99; times', 'bench', process.execPath, ...args], {
    cwd,
    env,
    encoding: 'utf8',
  });
  const wall = performance.now() - started;
  if (res.status !== 0) throw new Error(`${args.join(' ')} failed (${res.status})`);
  const children = res.stdout.trim().split('\n')[1]?.split(/\s+/) ?? [];
  return { wall, cpu: (seconds(children[0] ?? '') + seconds(children[1] ?? '')) * 1000 };
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
  const samples = new Map<string, Array<{ wall: number; cpu: number }>>(cases.map(([name]) => [name, []]));
  // Interleaved, so a busy moment on the machine hits every case alike.
  for (let i = 0; i < RUNS; i++) for (const [name, args] of cases) samples.get(name)!.push(time(args, repo, env));
  const wallOf = (name: string) => median(samples.get(name)!.map((s) => s.wall));
  const cpuOf = (name: string) => median(samples.get(name)!.map((s) => s.cpu));
  const [wallBase, cpuBase] = [wallOf('node -e 0'), cpuOf('node -e 0')];
  console.log(`start-up, median of ${RUNS} runs: wall time (spawn to exit) and CPU time (user + sys)`);
  for (const [name] of cases) {
    const [wall, cpu] = [wallOf(name), cpuOf(name)];
    console.log(
      `  ${name.padEnd(26)} wall ${wall.toFixed(0).padStart(5)} ms ${(wall / wallBase).toFixed(2)}× (+${(wall - wallBase).toFixed(0)})` +
        `   cpu ${cpu.toFixed(0).padStart(4)} ms ${(cpu / cpuBase).toFixed(2)}× (+${(cpu - cpuBase).toFixed(0)})`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
