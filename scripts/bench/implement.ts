/**
 * Implement benchmark (`npm run bench:implement`). Drives `implement next` through its core entry
 * point (`implementPlan`, one attempt approved on the first try) with the real Aider against a
 * loopback fake LLM server, several times, and prints in one run:
 *  - overhead of one run excluding time inside Aider and LLM calls (ms): the use case's own work —
 *    recovery check, tree check, Aider lookup, snapshot, runs.db, credit hold and deductions, diff,
 *    plan update, commit, and the review call's metering — measured in-process as
 *    total − Aider wall time − review call wall time,
 *  - Aider's start-up time: from spawning it to its first request reaching the fake server,
 *  - Aider's whole run and `aider --version` for scale,
 *  - the CLI end to end (`ai-dev-bot implement --json`, a new process) minus the Aider run.
 * Aider: AIDER_BIN, else the project's .venv/aider (npm run setup-aider).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../src/core/config.js';
import { locateAider } from '../../src/core/implement/aiderLocator.js';
import { runAiderProcess, type AiderRunner } from '../../src/core/implement/aiderRunner.js';
import type { WorkTree } from '../../src/core/implement/gitTree.js';
import type { AttemptTiming } from '../../src/core/implement/implementItem.js';
import { implementPlan } from '../../src/core/implement/implementPlan.js';
import { silentReporter } from '../../src/core/reporter.js';
import { openRuntime } from '../../src/core/runtime.js';
import { ensureStateDir, workspaceFor } from '../../src/core/workspace.js';
import { FakeOpenAiServer } from '../../test/fakes/llmServers.js';
import { editBlock, editReply } from '../../test/helpers/aider.js';
import { GREET, GREET_ITEMS, HELLO, greetPlan } from '../../test/helpers/implementRepo.js';
import { makeGitRepo } from '../../test/helpers/repo.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliBin = path.join(projectRoot, 'bin', 'ai-dev-bot.js');
const EDIT = editReply(editBlock('src/greet.js', GREET, HELLO));
const APPROVAL = JSON.stringify({ status: 'APPROVED', feedback: 'ok', problems: [] });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (xs: number[]) =>
  `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;

/** The shared one-function project with its first plan item open (the plan uncommitted). */
function makeRepo(): string {
  const root = makeGitRepo({ 'src/greet.js': GREET, 'README.md': '# bench\n' }, 'aidb-bench-impl-');
  writeFileSync(path.join(root, 'TODO.md'), greetPlan([GREET_ITEMS[0]!]));
  return root;
}

/** Wraps every WorkTree operation to add up the time spent in git. */
function timedTree(tree: WorkTree, total: { ms: number; calls: number }): WorkTree {
  const wrapped = { ...tree } as Record<string, unknown>;
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value !== 'function') continue;
    wrapped[key] = async (...args: unknown[]) => {
      const t = performance.now();
      try {
        return await (value as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        total.ms += performance.now() - t;
        total.calls++;
      }
    };
  }
  return wrapped as unknown as WorkTree;
}

function runNode(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve({ stdout, stderr }));
  });
}

async function main(): Promise<void> {
  // Coder and reviewer both on the fake: the reviewer's model name routes its answers.
  const server = await FakeOpenAiServer.start({
    fallback: (request) => (request.body?.model === 'fake-reviewer' ? { text: APPROVAL } : { text: EDIT }),
  });
  const aider = await locateAider({
    ...(process.env.AIDER_BIN ? { configured: process.env.AIDER_BIN } : {}),
    fallbacks: [path.join(projectRoot, '.venv', 'aider', 'bin', 'aider')],
  });
  const versionMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    spawnSync(aider.bin, ['--version'], { stdio: 'ignore' });
    versionMs.push(performance.now() - t);
  }
  process.stderr.write(`aider ${aider.version} at ${aider.bin}; ${RUNS} runs…\n`);

  const config = configSchema.parse({
    llm: {
      coder: { provider: 'openai', model: 'fake-coder' },
      architect: { provider: 'openai', model: 'fake-reviewer', maxOutputTokens: 1024 },
      openai: { baseUrl: server.url },
      maxRetries: 0,
    },
    aider: { mapTokens: 0, timeoutSec: 120, bin: aider.bin },
    ledger: { initialGrant: 1_000_000 },
  });
  const env = { ...process.env, OPENAI_API_KEY: 'sk-bench' };
  const home = mkdtempSync(path.join(os.tmpdir(), 'aidb-bench-home-'));
  const overhead: number[] = [];
  const totals: number[] = [];
  const aiderRun: number[] = [];
  const aiderStartup: number[] = [];
  const reviewMs: number[] = [];
  const gitMs: number[] = [];
  let gitCalls = 0;

  for (let i = 0; i < RUNS; i++) {
    const root = makeRepo();
    const ws = workspaceFor(root, path.join(root, '.git'));
    ensureStateDir(ws);
    // The same entry point as `implement next`: a runtime on the repo, then implementPlan.
    const rt = openRuntime({
      cwd: root,
      reporter: silentReporter,
      env: { ...env, AI_DEV_BOT_HOME: path.join(home, `run-${i}`) },
      opened: { ws, config },
    });
    let spawnedAt = 0;
    const requestsBefore = server.requests.length;
    const runAider: AiderRunner = (request) => {
      spawnedAt = Date.now();
      return runAiderProcess(request);
    };
    const timing: AttemptTiming = { aiderMs: 0, reviewMs: 0, checksMs: 0, indexMs: 0 };
    const gitTime = { ms: 0, calls: 0 };
    // Warm-up of the tokenizer the meter estimates with (a one-time cost per process, like a CLI run).
    if (i === 0) await (await rt.meter()).countTokens('warm up');
    const t0 = performance.now();
    const result = await implementPlan(rt, {
      target: 'next',
      signal: new AbortController().signal,
      confirm: async () => true,
      probes: { runAider, tree: (tree) => timedTree(tree, gitTime), timing },
    });
    const outcome = result.decisive!;
    const total = performance.now() - t0;
    if (outcome.outcome !== 'approved') throw new Error(`run ${i}: ${outcome.outcome} ${outcome.error?.message ?? ''}`);
    const firstRequest = server.requests[requestsBefore];
    if (firstRequest) aiderStartup.push(firstRequest.receivedAt - spawnedAt);
    totals.push(total);
    aiderRun.push(timing.aiderMs);
    reviewMs.push(timing.reviewMs);
    overhead.push(total - timing.aiderMs - timing.reviewMs - timing.checksMs);
    gitMs.push(gitTime.ms);
    gitCalls = gitTime.calls;
    await rt.close();
    rmSync(root, { recursive: true, force: true });
  }

  // End to end through the CLI, a new process each time: wall − Aider's run as it reports it.
  const cliOverhead: number[] = [];
  if (existsSync(path.join(projectRoot, 'dist', 'cli.js'))) {
    for (let i = 0; i < Math.min(RUNS, 3); i++) {
      const root = makeRepo();
      const cliHome = mkdtempSync(path.join(os.tmpdir(), 'aidb-bench-cli-'));
      mkdirSync(path.join(cliHome, 'config', 'ai-dev-bot'), { recursive: true });
      writeFileSync(
        path.join(cliHome, 'config', 'ai-dev-bot', 'config.json'),
        JSON.stringify({
          llm: {
            coder: { provider: 'openai', model: 'fake-coder' },
            architect: { provider: 'openai', model: 'fake-reviewer', maxOutputTokens: 1024 },
            openai: { baseUrl: server.url },
            maxRetries: 0,
          },
          aider: { mapTokens: 0, bin: aider.bin },
        }),
      );
      const t = performance.now();
      // Asynchronous: the fake server answering Aider lives in this process's event loop.
      const res = await runNode([cliBin, 'implement', '--json'], {
        cwd: root,
        env: {
          ...process.env,
          OPENAI_API_KEY: 'sk-bench',
          AI_DEV_BOT_HOME: path.join(cliHome, 'data'),
          XDG_CONFIG_HOME: path.join(cliHome, 'config'),
        },
      });
      const wall = performance.now() - t;
      const json = JSON.parse(res.stdout) as { outcome: string; attempts: Array<{ aider: { seconds: number } }> };
      if (json.outcome !== 'approved') throw new Error(`CLI run: ${res.stdout} ${res.stderr}`);
      cliOverhead.push(wall - json.attempts[0]!.aider.seconds * 1000);
      rmSync(root, { recursive: true, force: true });
      rmSync(cliHome, { recursive: true, force: true });
    }
  }
  await server.close();
  rmSync(home, { recursive: true, force: true });

  const lines = [
    `implement benchmark: one approved attempt, real aider ${aider.version}, loopback fake LLM (${os.cpus().length} cores)`,
    `  overhead per run, 1 attempt (excl. Aider, LLM):  ${fmt(overhead)}`,
    `    of which git (WorkTree: ${gitCalls} operations):     ${fmt(gitMs)}`,
    `  Aider start-up (spawn → first LLM request):       ${fmt(aiderStartup)}`,
    `  Aider run (whole subprocess):                     ${fmt(aiderRun)}`,
    `  review call (metered, loopback):                  ${fmt(reviewMs)}`,
    `  run total (implementPlan):                        ${fmt(totals)}`,
    `  aider --version:                                  ${fmt(versionMs)}`,
    ...(cliOverhead.length ? [`  CLI end to end minus the Aider run:               ${fmt(cliOverhead)}`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
