import http from 'node:http';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { projectRoot } from './cli.js';

export const serverBin = path.join(projectRoot, 'bin', 'ai-dev-bot-server.js');
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123';

export interface RunningServer {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** kill -9, as a crash would. */
  kill9(): Promise<void>;
}

/** Starts the real `ai-dev-bot-server serve` on a free port and waits for its "listening" line. */
export async function startServer(db: string, extraArgs: string[] = []): Promise<RunningServer> {
  const child = spawn(
    process.execPath,
    [serverBin, 'serve', '--db', db, '--port', '0', '--log-level', 'warn', ...extraArgs],
    {
      env: { ...process.env, AI_DEV_BOT_SERVER_ADMIN_TOKEN: ADMIN_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`server did not start within 30 s:\n${output}`)), 30_000).unref();
  });
  const killWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { url, child, output: () => output, stop: () => killWith('SIGTERM'), kill9: () => killWith('SIGKILL') };
}

/** Runs an admin subcommand of the server bin with --json and returns its parsed output. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function serverCli(args: string[], db: string): { code: number | null; json: any; stderr: string } {
  const result = spawnSync(process.execPath, [serverBin, ...args, '--db', db, '--json'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  return { code: result.status, json, stderr: result.stderr };
}

/** An account with one member token per name; returns the tokens. */
export function makeAccount(db: string, name: string, members: string[]): { accountId: string; tokens: string[] } {
  const created = serverCli(['account', 'create', name], db);
  if (created.code !== 0) throw new Error(`account create failed: ${created.stderr}`);
  const tokens = members.map((member) => {
    const issued = serverCli(['token', 'issue', '--account', name, '--member', member], db);
    if (issued.code !== 0) throw new Error(`token issue failed: ${issued.stderr}`);
    return issued.json.token as string;
  });
  return { accountId: created.json.id, tokens };
}

export function usageTransaction(creditsMilli: number, overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    type: 'usage_deduction',
    creditsMilli: -creditsMilli,
    usdCostNano: creditsMilli * 6667,
    project: 'demo-repo',
    description: 'ask: architect call',
    createdAt: new Date().toISOString(),
    usage: {
      id: randomUUID(),
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      task: 'ask',
      inputTokens: 1200,
      outputTokens: 300,
      costSource: 'table',
      tokensEstimated: false,
      latencyMs: 250,
      status: 'ok',
    },
    ...overrides,
  };
}

export async function api(
  url: string,
  token: string | undefined,
  method: string,
  route: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(`${url}${route}`, { method, headers, body: payload });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, headers: response.headers };
}

/**
 * POSTs a body the server refuses by its Content-Length alone. The 413 can arrive while the body is
 * still being written, and the server then closes the socket, so fetch() may fail with EPIPE
 * before it reads the answer; a plain request takes the response as soon as it arrives.
 */
export function postOversized(
  url: string,
  token: string,
  route: string,
  body: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = http.request(
      `${url}${route}`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        answered = true;
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (part: string) => (text += part));
        response.on('end', () => resolve({ status: response.statusCode!, json: JSON.parse(text) }));
        response.on('error', reject);
      },
    );
    // EPIPE or ECONNRESET while the refused body is still being sent: the answer decides.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    request.end(body);
  });
}
