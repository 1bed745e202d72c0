import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnProcessGroup } from '../processGroup.js';
import { redactSecrets } from '../redact.js';
import type { AiderInvocation, AiderPaths } from './aiderInvocation.js';
import {
  editBlockTarget,
  parseAnalyticsLog,
  parseTokenLimitReports,
  parseTokenReports,
  unreportedCallCount,
  summarizeAiderOutput,
  type AiderCall,
  type AiderOutputSummary,
} from './aiderReport.js';

/** One Aider run as the loop sees it; the real implementation spawns the CLI. */
export interface AiderRunRequest {
  bin: string;
  cwd: string;
  invocation: AiderInvocation;
  paths: AiderPaths;
  message: string;
  timeoutMs: number;
  /** Where the redacted transcript goes. */
  transcriptFile: string;
  signal?: AbortSignal;
  /** Called with the process (group) id right after spawning, so a crash can be cleaned up later. */
  onSpawn?: (pid: number) => void;
  /** Aider's output line by line as it runs (redacted), e.g. for --verbose. */
  onOutputLine?: (line: string) => void;
  /**
   * Aider retries a failing provider (5xx, connection refused) by itself for ~60 s per call, each
   * try being several HTTP requests: after this many of its retries the run is stopped instead.
   */
  maxProviderRetries: number;
  /**
   * Whether a file named by a SEARCH/REPLACE block of the model's reply is off limits. Aider prints
   * the reply before it applies it or sends a follow-up (which would quote the file): the run is
   * stopped as soon as such a block shows up.
   */
  isForbiddenEditTarget?: (target: string) => boolean;
}

export interface AiderRunResult {
  exitCode: number | null;
  /** Aider's output (stdout and stderr interleaved), secrets redacted. */
  output: string;
  timedOut: boolean;
  /** Stopped by the signal (Ctrl-C / SIGTERM of ai-dev-bot). */
  aborted: boolean;
  /** Stopped because the provider kept failing past `maxProviderRetries` of Aider's own retries. */
  providerGaveUp: boolean;
  /** Stopped because the reply edits a file `isForbiddenEditTarget` refused (its name). */
  forbiddenEdit: string | null;
  durationMs: number;
  calls: AiderCall[];
  summary: AiderOutputSummary;
}

export type AiderRunner = (request: AiderRunRequest) => Promise<AiderRunResult>;

/** Aider's line before it sleeps and sends the same request again (base_coder.send_message). */
const PROVIDER_RETRY_LINE = /^Retrying in [\d.]+ seconds\.\.\./;

/**
 * Aider's own price-list download (ModelInfoManager, not litellm: LITELLM_LOCAL_MODEL_COST_MAP does
 * not stop it) runs on every start with a cold cache and waits up to 5 s per try. A non-empty cache
 * younger than a day in the HOME we give it skips the download; litellm's bundled map still prices
 * known models.
 */
export function prepareAiderHome(home: string): void {
  const caches = path.join(home, '.aider', 'caches');
  mkdirSync(caches, { recursive: true });
  const priceCache = path.join(caches, 'model_prices_and_context_window.json');
  if (!existsSync(priceCache)) writeFileSync(priceCache, '{"ai-dev-bot": {"note": "see litellm bundled map"}}\n');
  const now = new Date();
  utimesSync(priceCache, now, now);
  // OpenRouter's model list is left alone: Aider fetches it only for openrouter/… models, which
  // need openrouter.ai anyway, and it prices them.
}

export const runAiderProcess: AiderRunner = async (request) => {
  const { invocation, paths } = request;
  for (const file of [
    paths.messageFile,
    paths.envFile,
    paths.aiderIgnoreFile,
    paths.analyticsLog,
    request.transcriptFile,
  ])
    mkdirSync(path.dirname(file), { recursive: true });
  prepareAiderHome(paths.home);
  writeFileSync(invocation.modelSettings.file, invocation.modelSettings.text);
  writeFileSync(paths.messageFile, request.message, { mode: 0o600 });
  writeFileSync(paths.aiderIgnoreFile, invocation.aiderIgnoreText);
  writeFileSync(paths.envFile, invocation.envFileText, { mode: 0o600 });
  chmodSync(paths.envFile, 0o600);
  rmSync(paths.analyticsLog, { force: true });

  const env = { ...invocation.env };
  if (env.GIT_CONFIG_GLOBAL && !existsSync(env.GIT_CONFIG_GLOBAL)) delete env.GIT_CONFIG_GLOBAL;
  const started = performance.now();
  const child = spawnProcessGroup(
    request.bin,
    invocation.args,
    {
      cwd: request.cwd,
      env,
      extendEnv: false,
      // An uncaught exception makes Aider wait on input(): give it no stdin at all.
      stdin: 'ignore',
      stripFinalNewline: false,
      maxBuffer: 64 * 1024 * 1024,
    },
    { timeoutMs: request.timeoutMs, signal: request.signal },
  );
  if (child.pid !== undefined) request.onSpawn?.(child.pid);

  let providerGaveUp = false;
  let forbiddenEdit: string | null = null;
  if (child.output) {
    let pending = '';
    let retries = 0;
    const recent: string[] = [];
    const redactEnvLive = { ...process.env, ...keysOf(invocation.envFileText) };
    child.output.on('data', (chunk: Buffer) => {
      // Aider loads its env file before it prints anything: from its first byte on, the key file
      // is no longer needed on disk.
      rmSync(paths.envFile, { force: true });
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (PROVIDER_RETRY_LINE.test(line) && ++retries > request.maxProviderRetries && !providerGaveUp) {
          providerGaveUp = true;
          child.stop();
        }
        const target = editBlockTarget(recent[0] ?? '', recent[1] ?? '', line);
        if (target && forbiddenEdit === null && request.isForbiddenEditTarget?.(target)) {
          forbiddenEdit = target;
          child.stop();
        }
        recent.push(line);
        if (recent.length > 2) recent.shift();
        if (line.trim()) request.onOutputLine?.(redactSecrets(line, redactEnvLive));
      }
    });
  }
  const { timedOut, aborted, ...result } = await child.done;
  // The request lives on, redacted, in the transcript; the key file and allow-list go.
  for (const file of [paths.envFile, paths.messageFile, paths.aiderIgnoreFile]) rmSync(file, { force: true });

  const durationMs = performance.now() - started;
  const redactEnv = { ...process.env, ...keysOf(invocation.envFileText) };
  const output = redactSecrets(result.output, redactEnv);
  const calls = aiderCallsOf(readIfPresent(paths.analyticsLog), output);
  const header = [
    `# aider ${redactSecrets(invocation.args.join(' '), redactEnv)}`,
    `# cwd ${request.cwd}`,
    `# exit ${result.exitCode ?? result.exitSignal ?? 'unknown'}${timedOut ? ' (timed out)' : ''}${aborted ? ' (interrupted)' : ''}${providerGaveUp ? ' (stopped: the provider kept failing)' : ''}${forbiddenEdit !== null ? ` (stopped: the reply edits ${forbiddenEdit})` : ''} after ${(durationMs / 1000).toFixed(1)} s`,
    '',
    '## message',
    redactSecrets(request.message, redactEnv),
    '',
    '## output',
  ].join('\n');
  writeFileSync(request.transcriptFile, `${header}\n${output}\n`);
  // Aider's own histories hold the prompts and replies: redact them like the transcript.
  for (const file of [paths.chatHistoryFile, paths.llmHistoryFile]) {
    try {
      writeFileSync(file, redactSecrets(readFileSync(file, 'utf8'), redactEnv));
    } catch {
      // not written (e.g. killed before the first call)
    }
  }
  return {
    exitCode: result.exitCode,
    output,
    timedOut,
    aborted,
    providerGaveUp,
    forbiddenEdit,
    durationMs,
    calls,
    summary: summarizeAiderOutput(output),
  };
};

function readIfPresent(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // not written (e.g. killed before the first call)
  }
}

/**
 * Every LLM call of the run: as the analytics log reports them (else the terminal's rounded
 * "Tokens:" lines), plus the calls it started and never reported, with Aider's token-limit
 * approximation when it printed one (else zero counts, which the caller prices as its estimate).
 */
export function aiderCallsOf(analyticsLog: string, output: string): AiderCall[] {
  const reported = parseAnalyticsLog(analyticsLog);
  const calls = reported.length > 0 ? reported : parseTokenReports(output);
  const approximations = parseTokenLimitReports(output);
  // Calls the terminal lines reported (when the log's reports are missing) are not unreported.
  const unreported = unreportedCallCount(analyticsLog) - (reported.length > 0 ? 0 : calls.length);
  for (let i = 0; i < unreported; i++) {
    const approx = approximations[i] ?? { promptTokens: 0, completionTokens: 0 };
    calls.push({ ...approx, costUsd: 0, estimated: true });
  }
  return calls;
}

/** KEY='value' lines of our env file, so their values are redacted like the known key variables. */
function keysOf(envFileText: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of envFileText.split('\n')) {
    const match = /^([A-Z_]+_API_KEY)='(.*)'$/.exec(line);
    if (match) out[match[1]!] = match[2]!.replace(/\\'/g, "'").replace(/\\\\/g, '\\');
  }
  return out;
}
