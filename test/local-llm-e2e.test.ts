import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLocalLlm } from '../scripts/setup-local-llm.mjs';
import { PLAN_MARKER, parsePlan } from '../src/core/plan/planFile.js';
import { cliEnvWithConfig, runCliAsync, type CliResult } from './helpers/cli.js';
import { git, makeGitRepo, writeFiles } from './helpers/repo.js';

/**
 * End to end against a real OpenAI-compatible server running a real model: llama-cpp-python's
 * server with SmolLM2-135M (installed by the test setup into .venv/llm). A 135M model writes poor
 * code and poor plans, so the assertions are what must hold whatever it answers. A counting proxy
 * between the CLI (and Aider) and the server records every request, per command.
 */

interface Exchange {
  command: string;
  status: number;
  responseFormat: string | undefined;
  usage: { prompt_tokens: number; completion_tokens: number } | undefined;
}

let server: ChildProcess;
let proxy: http.Server;
let proxyUrl: string;
let serverLog = '';
let command = 'setup';
const exchanges: Exchange[] = [];
/** Exit code per command, printed with the request counts. */
const exitCodes = new Map<string, number | null>();
/**
 * A path prefix unique to this run: the CLI remembers the request shape per base URL + model in the
 * user cache, so a base URL seen by an earlier run (a reused port) would skip the json_schema step.
 */
const runPrefix = `/run-${randomUUID()}`;

async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Forwards to the model server and records each chat request with its status and reported usage. */
function startCountingProxy(target: number): Promise<http.Server> {
  const proxyServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      // Recorded on arrival, so a request the client gave up on (a timeout) still counts.
      let exchange: Exchange | undefined;
      if (req.url?.endsWith('/chat/completions')) {
        let sent: { response_format?: { type?: string } } = {};
        try {
          sent = JSON.parse(body.toString('utf8'));
        } catch {
          // not JSON: recorded without a format
        }
        exchange = { command, status: 0, responseFormat: sent.response_format?.type, usage: undefined };
        exchanges.push(exchange);
      }
      const forward = http.request(
        {
          host: '127.0.0.1',
          port: target,
          path: req.url?.startsWith(runPrefix) ? req.url.slice(runPrefix.length) : req.url,
          method: req.method,
          headers: req.headers,
        },
        (upstream) => {
          const out: Buffer[] = [];
          upstream.on('data', (c: Buffer) => out.push(c));
          upstream.on('end', () => {
            if (exchange) {
              exchange.status = upstream.statusCode ?? 0;
              try {
                exchange.usage = (
                  JSON.parse(Buffer.concat(out).toString('utf8')) as { usage?: Exchange['usage'] }
                ).usage;
              } catch {
                // not JSON: no usage
              }
            }
            res.writeHead(upstream.statusCode ?? 502, upstream.headers);
            res.end(Buffer.concat(out));
          });
        },
      );
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(body);
    });
  });
  return new Promise((resolve) => proxyServer.listen(0, '127.0.0.1', () => resolve(proxyServer)));
}

async function waitForServer(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`llama_cpp.server exited with ${server.exitCode}:\n${serverLog}`);
    const ready = await fetch(`http://127.0.0.1:${port}/v1/models`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`llama_cpp.server not ready within ${timeoutMs} ms:\n${serverLog}`);
}

const of = (name: string) => exchanges.filter((e) => e.command === name);

beforeAll(async () => {
  const { python, gguf } = ensureLocalLlm();
  const port = await freePort();
  server = spawn(
    python,
    [
      '-m',
      'llama_cpp.server',
      '--model',
      gguf,
      '--model_alias',
      'smollm2',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--n_ctx',
      '8192',
      // One thread: ggml's threads spin-wait for each other, so on a shared 2-core machine a second
      // thread that loses its core stalls every token (this file: 419 s with 2 threads, 80 s with 1).
      '--n_threads',
      '1',
      '--n_threads_batch',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout!.on('data', (d) => (serverLog = (serverLog + d).slice(-4000)));
  server.stderr!.on('data', (d) => (serverLog = (serverLog + d).slice(-4000)));
  await waitForServer(port, 120_000);
  proxy = await startCountingProxy(port);
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${runPrefix}/v1`;
}, 300_000);

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  server?.kill('SIGTERM');
  console.log(
    'requests per command (status / response_format):\n' +
      [...new Set(exchanges.map((e) => e.command))]
        .map(
          (name) =>
            `  ${name} (exit ${exitCodes.get(name)}): ${of(name).length} [${of(name)
              .map((e) => `${e.status}/${e.responseFormat ?? '-'}`)
              .join(', ')}]`,
        )
        .join('\n'),
  );
});

describe('against llama-cpp-python + SmolLM2-135M (real server, real model)', () => {
  let repo: string;
  let env: NodeJS.ProcessEnv;
  const cli = (name: string, args: string[]): Promise<CliResult> => {
    command = name;
    return runCliAsync(args, { cwd: repo, env }).done.then((result) => {
      exitCodes.set(name, result.code);
      return result;
    });
  };
  const usageRows = (task: string) => {
    const db = new Database(path.join(env.AI_DEV_BOT_HOME!, 'ledger.db'), { readonly: true });
    try {
      return db
        .prepare(
          'SELECT input_tokens AS input, output_tokens AS output, tokens_estimated AS estimated FROM api_usage WHERE task = ? ORDER BY created_at',
        )
        .all(task) as Array<{ input: number; output: number; estimated: number }>;
    } finally {
      db.close();
    }
  };

  beforeAll(() => {
    repo = makeGitRepo({
      'src/greet.ts': 'export function greet(name: string): string {\n  return `Hello, ${name}`;\n}\n',
      'README.md': '# greet\n\nA tiny library with one function, greet(name).\n',
    });
    // Small output caps keep each call short: the model's answers are judged only for shape.
    const architect = { provider: 'openai', model: 'smollm2', maxOutputTokens: 160 };
    const coder = { provider: 'openai', model: 'smollm2', maxOutputTokens: 256 };
    env = cliEnvWithConfig(
      {
        llm: { architect, coder, timeoutMs: 600_000, maxRetries: 1, retryBaseDelayMs: 200 },
        search: { k: 2 },
        implement: { contextFiles: 0 },
        aider: { mapTokens: 0, timeoutSec: 900 },
      },
      { OPENAI_BASE_URL: proxyUrl },
    );
  });

  it('ask answers and is charged exactly the usage the server reported', async () => {
    const indexed = await cli('index', ['index', '--json']);
    expect(indexed.code, indexed.stderr).toBe(0);
    const res = await cli('ask', ['ask', 'what does greet return', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json.answer.length).toBeGreaterThan(0);
    expect(of('ask')).toHaveLength(1);
    const reported = of('ask')[0]!.usage!;
    expect(res.json.usage).toMatchObject({
      inputTokens: reported.prompt_tokens,
      outputTokens: reported.completion_tokens,
    });
    expect(usageRows('ask')).toEqual([
      { input: reported.prompt_tokens, output: reported.completion_tokens, estimated: 0 },
    ]);
  }, 600_000);

  it('plan ends in a valid plan or "not a valid plan" (exit 7) after a bounded number of requests', async () => {
    const res = await cli('plan', ['plan', 'add a farewell function next to greet', '--json', '--verbose']);
    expect([0, 7], res.stderr).toContain(res.code);
    const requests = of('plan');
    // json_schema refused (500) → json_object at once; at most one re-ask for an invalid plan, and one
    // transport retry: never the same refused request again.
    expect(requests[0]).toMatchObject({ status: 500, responseFormat: 'json_schema' });
    expect(requests.slice(1).every((e) => e.responseFormat === 'json_object')).toBe(true);
    expect(requests.length).toBeLessThanOrEqual(4);
    expect(res.stderr).toMatch(/trying json_object/);
    if (res.code === 0) {
      expect(parsePlan(readFileSync(path.join(repo, 'TODO.md'), 'utf8')).plan.items.length).toBeGreaterThan(0);
    } else {
      expect(res.json.error.message).toMatch(/not a valid plan/);
      expect(existsSync(path.join(repo, 'TODO.md'))).toBe(false);
    }
    expect(usageRows('planning')).toHaveLength(requests.filter((e) => e.status === 200).length);
  }, 900_000);

  it('implement next ends approved (0) or rejected (4) with the tree consistent; Aider is charged from its usage', async () => {
    // A plan written by hand, so this test does not depend on what the model planned above.
    writeFiles(repo, {
      'TODO.md': [
        PLAN_MARKER,
        '# TODO',
        '',
        '- Goal: farewell',
        '',
        '- [ ] P1: Add a farewell function',
        '  - Files: src/greet.ts',
        '  - Action: Add `export function farewell(name: string): string` returning `Goodbye, ${name}`.',
        '  - Verification: src/greet.ts exports farewell.',
        '',
      ].join('\n'),
    });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'plan');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const res = await cli('implement', ['implement', 'next', '--retries', '0', '--yes', '--json']);
    expect([0, 4], `${res.stdout}\n${res.stderr}`).toContain(res.code);
    // Approved: one commit with code and plan, a clean tree. Rejected: the code restored, only the
    // plan file changed (its item marked [!] with the feedback), nothing committed.
    const changed = git(repo, 'status', '--porcelain', '--untracked-files=no').trim();
    expect(changed).toBe(res.code === 0 ? '' : 'M TODO.md');
    const commits = git(repo, 'rev-list', '--count', `${head}..HEAD`).trim();
    expect(commits).toBe(res.code === 0 ? '1' : '0');
    const plan = readFileSync(path.join(repo, 'TODO.md'), 'utf8');
    expect(plan).toContain(res.code === 0 ? '- [x] P1' : '- [!] P1');
    expect(readFileSync(path.join(repo, 'src/greet.ts'), 'utf8')).toContain('export function greet');
    // Aider's own requests (no response_format): each one the server answered is charged once,
    // exactly as Aider reported it; one it never reported (SmolLM2's reply cut at its token limit
    // ends the run that way) is charged as an estimate, never left out.
    const aiderCalls = of('implement').filter((e) => e.responseFormat === undefined && e.status === 200);
    expect(aiderCalls.length).toBeGreaterThan(0);
    const coding = usageRows('coding');
    expect(coding).toHaveLength(aiderCalls.length);
    const served = aiderCalls.map((e) => e.usage?.prompt_tokens ?? 0);
    const exact = coding.filter((row) => row.estimated === 0);
    for (const row of exact) {
      expect(served).toContain(row.input); // an exact row is a call the server answered, token for token
      served.splice(served.indexOf(row.input), 1);
    }
    for (const row of coding.filter((r) => r.estimated === 1)) expect(row.input).toBeGreaterThan(0);
  }, 1_200_000);
});
