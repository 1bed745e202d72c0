import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPlan } from '../src/core/plan/planFile.js';
import { FakeGeminiServer } from './fakes/llmServers.js';
import { cliBin, cliEnvWithConfig, projectRoot, runCliAsync, type CliResult } from './helpers/cli.js';
import { makeGitRepo } from './helpers/repo.js';

const ESC = '\x1b';
/** Exit codes of DESIGN §3 a command may end with. */
const DOCUMENTED_EXITS = [0, 2, 3, 4, 5, 6, 7];

/** Arguments that make a command do real work here; a command without an entry runs bare. */
const ARGS: Record<string, string[]> = {
  search: ['greet'],
  ask: ['what', 'does', 'greet', 'do'],
  plan: ['add', 'a', 'farewell'],
  'credits grant': ['5'],
  'pricing set': ['gemini', 'gemini-2.5-flash', '--input', '0.3', '--output', '2.5'],
  implement: ['next'],
};

/** Leaf commands as `--help` lists them (a command with subcommands also runs on its own). */
async function listCommands(run: (args: string[]) => Promise<CliResult>, prefix: string[] = []): Promise<string[]> {
  const help = (await run([...prefix, '--help'])).stdout;
  const section = help.split(/^Commands:\n/m)[1]?.split(/\n\n/)[0] ?? '';
  const names = [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  const out: string[] = [];
  for (const name of names) {
    out.push([...prefix, name].join(' '));
    if (prefix.length === 0) out.push(...(await listCommands(run, [name])).filter((c) => c !== name));
  }
  return out;
}

describe('CI mode: every command with CI=true, no TTY, --json', () => {
  let gemini: FakeGeminiServer;
  let root: string;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runCliAsync(args, { cwd: root, env: { ...env, ...extra } }).done;

  beforeAll(async () => {
    gemini = await FakeGeminiServer.start({
      apiKey: 'test-key',
      fallback: { text: 'greet returns a greeting (src/greet.js:1-3).', inputTokens: 300, outputTokens: 20 },
    });
    root = makeGitRepo({ 'src/greet.js': "export function greet(name) {\n  return 'hi ' + name;\n}\n" });
    const item = { files: ['src/greet.js'], action: 'do it', verification: 'it is done' };
    // Every item settled: `implement next` has nothing to do (exit 5) without starting Aider.
    writeFileSync(
      path.join(root, 'TODO.md'),
      renderPlan({
        goal: 'friendlier greetings',
        items: [
          { id: 'P1', title: 'first', status: 'done', ...item },
          { id: 'P2', title: 'second', status: 'rejected', feedback: 'no', ...item },
        ],
      }),
    );
    env = cliEnvWithConfig(
      { llm: { gemini: { baseUrl: gemini.url }, maxRetries: 0, retryBaseDelayMs: 10 } },
      { CI: 'true', NO_COLOR: undefined, FORCE_COLOR: undefined },
    );
  });
  afterAll(async () => {
    await gemini.close();
  });

  it('prints exactly one JSON object on stdout, no ANSI anywhere, a documented exit code', async () => {
    const commands = await listCommands(run);
    // The walk must find the commands this test knows; a new command is walked bare.
    expect(commands).toEqual(expect.arrayContaining(['init', 'index', 'plan', 'plan show', 'status', 'implement']));
    for (const command of commands) {
      const args = [...command.split(' '), ...(ARGS[command] ?? []), '--json'];
      const res = await run(args);
      const label = `ai-dev-bot ${args.join(' ')} → ${res.code}\n${res.stdout}\n${res.stderr}`;
      const lines = res.stdout.split('\n').filter((l) => l !== '');
      expect(lines, label).toHaveLength(1);
      const json = JSON.parse(lines[0]!);
      expect(typeof json === 'object' && json !== null && !Array.isArray(json), label).toBe(true);
      expect(res.stdout.includes(ESC) || res.stderr.includes(ESC), label).toBe(false);
      expect(DOCUMENTED_EXITS, label).toContain(res.code);
      if (res.code === 0) expect(json.error, label).toBeUndefined();
      // A failure names its error code; implement's outcomes (nothing-to-do, rejected) are results.
      else expect(json.error?.code ?? json.outcome, label).toEqual(expect.any(String));
    }
  });

  it('a question that needs an answer is an error naming the flag (CI=true, and without a TTY)', async () => {
    for (const extra of [{}, { CI: undefined }]) {
      const res = await run(['plan', 'rewrite', 'everything', '--json'], extra);
      expect(res.code, res.stderr).toBe(2);
      expect(res.json.error.message).toContain('TODO.md already holds a plan');
      expect(res.json.error.hint).toContain('--replace');
    }
    // Nothing was sent to the model for a refused plan.
    expect(gemini.requests.filter((r) => JSON.stringify(r.body).includes('rewrite everything'))).toHaveLength(0);
  });

  it('on a terminal the question is asked instead: "n" keeps the plan (exit 130), nothing is sent', async () => {
    const ptyEnv = { ...env };
    delete ptyEnv.CI;
    const helper = path.join(projectRoot, 'test', 'helpers', 'pty_run.py');
    const before = readFileSync(path.join(root, 'TODO.md'), 'utf8');
    const sent = gemini.requests.length;
    const res = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('python3', [helper, 'n', process.execPath, cliBin, 'plan', 'start', 'over'], {
        cwd: root,
        env: ptyEnv,
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(res.out).toContain('TODO.md already holds a plan. Replace it');
    expect(res.code, res.out).toBe(130);
    expect(readFileSync(path.join(root, 'TODO.md'), 'utf8')).toBe(before);
    expect(gemini.requests.length).toBe(sent);
  });

  it('plain output without a TTY has no ANSI bytes; --json errors for bad flags are JSON too', async () => {
    for (const args of [['status'], ['plan', 'show'], ['credits'], ['implement', '--retries', 'x']]) {
      const res = await run(args);
      expect(res.stdout + res.stderr, args.join(' ')).not.toContain(ESC);
    }
    const bad = await run(['implement', '--no-such-flag', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe('bad_argument');
  });
});
