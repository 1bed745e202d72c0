import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliBin = path.join(projectRoot, 'bin', 'ai-dev-bot.js');

/** Env for a CLI child: a private ledger/config home, no CI/TTY surprises; the model cache stays shared. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = mkdtempSync(path.join(os.tmpdir(), 'aidb-home-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AI_DEV_BOT_HOME: path.join(home, 'data'),
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_DATA_HOME: path.join(home, 'share'),
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
    ...extra,
  };
  for (const key of ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'OPENROUTER_API_KEY', 'OPENAI_API_KEY', 'OPENAI_BASE_URL']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function parseJson(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

export function runCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): CliResult {
  const result = spawnSync(process.execPath, [cliBin, ...args], {
    cwd: options.cwd,
    env: options.env ?? cliEnv(),
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, json: parseJson(result.stdout) };
}

export function runCliAsync(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): { child: ReturnType<typeof spawn>; done: Promise<CliResult>; stderrSoFar: () => string } {
  const child = spawn(process.execPath, [cliBin, ...args], {
    cwd: options.cwd,
    env: options.env ?? cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr, json: parseJson(stdout) })),
  );
  return { child, done, stderrSoFar: () => stderr };
}

/** A private CLI env whose user config file holds `config` (how tests point the CLI at the fakes). */
export function cliEnvWithConfig(config: object, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = cliEnv({ GEMINI_API_KEY: 'test-key', ...extra });
  const dir = path.join(env.XDG_CONFIG_HOME!, 'ai-dev-bot');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return env;
}
