import { readFileSync } from 'node:fs';
import path from 'node:path';
import { userDir } from './userDirs.js';
import { z } from 'zod';
import { AppError } from './errors.js';
import { MAX_CREDITS, MAX_PRICE_USD_PER_MTOK } from './ledger/bounds.js';
import {
  AIDER_REPO_FILES,
  KEY_DESTINATION_SETTINGS,
  repoTrustState,
  type RepoSetting,
  type RepoTrustState,
} from './repoTrust.js';

export const providerIds = ['gemini', 'openrouter', 'openai'] as const;
export type ProviderId = (typeof providerIds)[number];

const roleSchema = z.strictObject({
  provider: z.enum(providerIds),
  model: z.string().min(1).max(200),
  /** Cap on generated tokens per call; metering reserves credits for all of them up front. */
  maxOutputTokens: z.number().int().positive().max(1_000_000).default(8192),
});

const usdPerMtok = z.number().nonnegative().max(MAX_PRICE_USD_PER_MTOK);
/**
 * Durations end up in setTimeout, which treats anything above 2^31-1 ms (~24.8 days) as 1 ms: every
 * call would time out at once. A day is far beyond any real need.
 */
const DAY_MS = 86_400_000;
const durationMs = () => z.number().int().min(0).max(DAY_MS);
const durationSec = () =>
  z
    .number()
    .int()
    .positive()
    .max(DAY_MS / 1000);

/** Every config key, with its default. Unknown keys are errors so typos do not pass silently. */
export const configSchema = z.strictObject({
  llm: z
    .strictObject({
      architect: roleSchema.prefault({ provider: 'gemini', model: 'gemini-2.5-flash' }),
      coder: roleSchema.prefault({ provider: 'gemini', model: 'gemini-2.5-flash' }),
      timeoutMs: durationMs().positive().default(120_000),
      maxRetries: z.number().int().min(0).max(10).default(4),
      /** First backoff step after a 429/5xx/network error; doubles per retry, capped at retryMaxDelayMs. */
      retryBaseDelayMs: durationMs().default(1000),
      retryMaxDelayMs: durationMs().default(60_000),
      gemini: z.strictObject({ baseUrl: z.url().optional() }).prefault({}),
      openrouter: z
        .strictObject({
          baseUrl: z.url().default('https://openrouter.ai/api/v1'),
          /** Sent as HTTP-Referer: OpenRouter attributes usage to this app URL. */
          appUrl: z.url().default('https://www.npmjs.com/package/ai-dev-bot'),
        })
        .prefault({}),
      openai: z.strictObject({ baseUrl: z.url().optional() }).prefault({}),
    })
    .prefault({}),
  ledger: z
    .strictObject({
      // Bounded so that one call of at most $1,000,000 costs at most 10^12 credits (ledger/bounds.ts).
      creditValueUsd: z.number().min(0.0001).max(1_000_000).default(0.01),
      markup: z.number().positive().max(100).default(1.5),
      initialGrant: z.number().nonnegative().max(MAX_CREDITS).default(500),
      fallbackPrice: z.strictObject({ input: usdPerMtok, output: usdPerMtok }).prefault({ input: 5, output: 20 }),
    })
    .prefault({}),
  /** The team ledger server (`ai-dev-bot-server`); the token comes from AI_DEV_BOT_SYNC_TOKEN only. */
  sync: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).optional(),
      /** Sync after each metered command (bounded by timeoutMs, never failing the command). */
      auto: z.boolean().default(false),
      batchSize: z.number().int().min(1).max(1000).default(500),
      timeoutMs: durationMs().positive().default(10_000),
    })
    .prefault({}),
  index: z
    .strictObject({
      include: z.array(z.string()).default([]),
      exclude: z.array(z.string()).default([]),
      maxFileBytes: z
        .number()
        .int()
        .positive()
        .max(64 * 1024 * 1024)
        .default(1024 * 1024),
    })
    .prefault({}),
  embedding: z
    .strictObject({
      precision: z.enum(['int8', 'fp32']).default('int8'),
      // onnxruntime sizes its thread pool from this: 100,000 made it allocate GBs and never return.
      threads: z.number().int().positive().max(256).optional(),
      // Unset: what each session runs fastest at (fastestBatchRows: 1 row for a single-threaded
      // session, as `index` runs on 2 cores, else 8); larger batches also grow onnxruntime's arena.
      batchSize: z.number().int().min(1).max(256).optional(),
      /**
       * onnxruntime graph optimizers to skip. SkipLayerNormFusion swaps Add + LayerNormalization for
       * a kernel that is ~1.2× slower on the int8 graph on AVX-512 CPUs (DESIGN §9).
       */
      disabledOptimizers: z
        .array(z.string().regex(/^[A-Za-z0-9_]+$/, 'an onnxruntime optimizer name such as SkipLayerNormFusion'))
        .default(['SkipLayerNormFusion']),
      /** `index` embeds in a worker thread while the main thread reads, chunks and writes (DESIGN §9). */
      inferenceWorker: z.boolean().default(true),
      /**
       * Inference sessions `index` runs side by side (each in its own worker, `threads` split
       * between them); default 2 where there are 2+ cores: 1.02–1.10× one session's rate on 2 cores.
       */
      sessions: z.number().int().min(1).max(16).optional(),
      /** Fetch the model into the user cache when missing (off on air-gapped machines; AI_DEV_BOT_OFFLINE=1 too). */
      autoFetch: z.boolean().default(true),
    })
    .prefault({}),
  search: z
    .strictObject({
      k: z.number().int().min(1).max(100).default(8),
      mode: z.enum(['hybrid', 'vector', 'keyword']).default('hybrid'),
    })
    .prefault({}),
  plan: z.strictObject({ file: z.string().min(1).default('TODO.md') }).prefault({}),
  aider: z
    .strictObject({
      bin: z.string().min(1).optional(),
      timeoutSec: durationSec().default(600),
      mapTokens: z.number().int().min(0).max(1_000_000).default(1024),
    })
    .prefault({}),
  verify: z
    .strictObject({
      command: z.string().min(1).optional(),
      timeoutSec: durationSec().default(600),
    })
    .prefault({}),
  implement: z
    .strictObject({
      /** Attempts after the first rejection (`--retries`). */
      retries: z.number().int().min(0).max(10).default(2),
      /** Index hits' files given to Aider read-only, besides the item's own files. */
      contextFiles: z.number().int().min(0).max(20).default(4),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema> & {
  /** Set when a repo config file chose where keys go; checked where a key is about to be sent. */
  repoTrust?: RepoTrustState;
};
export type ConfigInput = z.input<typeof configSchema>;

export const REPO_CONFIG_FILE = 'ai-dev-bot.config.json';

/** Where each layer of configuration came from, so errors can name the file. */
export interface ConfigLayer {
  source: string;
  values: Record<string, unknown>;
  /** The file's text (file layers only): trust is recorded against its hash. */
  text?: string;
}

export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userDir('config', env), 'config.json');
}

function readJsonLayer(file: string): ConfigLayer | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('bad_config', `Cannot read config file ${file}: ${(err as Error).message}`);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (err) {
    throw new AppError(
      'bad_config',
      `Config file ${file} is not valid JSON: ${(err as Error).message}`,
      'Fix the JSON syntax (no comments or trailing commas).',
    );
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new AppError('bad_config', `Config file ${file} must contain a JSON object.`);
  }
  return { source: file, values: values as Record<string, unknown>, text };
}

/** Environment variables that map onto config keys (DESIGN §4: flags > env > files > defaults). */
function envLayer(env: NodeJS.ProcessEnv): ConfigLayer {
  const values: Record<string, unknown> = {};
  if (env.AIDER_BIN) setPath(values, ['aider', 'bin'], env.AIDER_BIN);
  if (env.OPENAI_BASE_URL) setPath(values, ['llm', 'openai', 'baseUrl'], env.OPENAI_BASE_URL);
  if (env.AI_DEV_BOT_SYNC_URL) setPath(values, ['sync', 'url'], env.AI_DEV_BOT_SYNC_URL);
  return { source: 'environment', values };
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

/** Finds which layer set a dotted key last, to name it in an error. */
function sourceOf(layers: ConfigLayer[], keyPath: PropertyKey[]): string {
  for (let i = layers.length - 1; i >= 0; i--) {
    let node: unknown = layers[i]!.values;
    let found = true;
    for (const key of keyPath) {
      if (!isPlainObject(node) || !(String(key) in node)) {
        found = false;
        break;
      }
      node = node[String(key)];
    }
    if (found) return layers[i]!.source;
  }
  return layers[layers.length - 1]?.source ?? 'defaults';
}

/** Validates merged layers; the first problem is reported with its key and the file it came from. */
export function resolveConfig(layers: ConfigLayer[]): Config {
  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => deepMerge(acc, layer.values), {});
  const result = configSchema.safeParse(merged);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const keyPath = [...issue.path];
  if (issue.code === 'unrecognized_keys') keyPath.push(issue.keys[0]!);
  const key = keyPath.map(String).join('.') || '(root)';
  const source = sourceOf(layers, keyPath);
  throw new AppError(
    'bad_config',
    `Invalid config key "${key}" (from ${source}): ${issue.message}`,
    `Fix or remove "${key}" in ${source}. See README "Configuration" for valid keys.`,
  );
}

export interface LoadConfigOptions {
  repoRoot?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest-precedence values from command-line flags. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const layers: ConfigLayer[] = [];
  const user = readJsonLayer(userConfigPath(env));
  if (user) layers.push(user);
  const repo = options.repoRoot ? readJsonLayer(path.join(options.repoRoot, REPO_CONFIG_FILE)) : undefined;
  if (repo) layers.push(repo);
  layers.push(envLayer(env));
  if (options.overrides) layers.push({ source: 'command-line flags', values: options.overrides });
  const config: Config = resolveConfig(layers);
  if (options.repoRoot) {
    const aiderFiles = readAiderRepoFiles(options.repoRoot);
    if (repo || aiderFiles.length > 0) {
      config.repoTrust = repoTrustState({
        repoRoot: options.repoRoot,
        files: [
          ...(repo ? [{ name: REPO_CONFIG_FILE, text: repo.text ?? '' }] : []),
          ...aiderFiles.map(({ name, text }) => ({ name, text })),
        ],
        settings: [
          ...(repo ? repoKeyDestinations(layers, repo) : []),
          ...aiderFiles.map(({ name, file }) => ({ key: name, value: file, file })),
        ],
        env,
      });
    }
  }
  return config;
}

/** Aider's own config files at the repo root (Aider reads them there with the key in hand). */
function readAiderRepoFiles(
  repoRoot: string,
): Array<{ name: (typeof AIDER_REPO_FILES)[number]; file: string; text: string }> {
  const found = [];
  for (const name of AIDER_REPO_FILES) {
    const file = path.join(repoRoot, name);
    try {
      found.push({ name, file, text: readFileSync(file, 'utf8') });
    } catch {
      // Absent is the normal case; one we cannot read, Aider cannot read either.
    }
  }
  return found;
}

/** The key-destination settings in force that the repo file decided (a later layer may override). */
function repoKeyDestinations(layers: ConfigLayer[], repo: ConfigLayer): RepoSetting[] {
  const settings: RepoSetting[] = [];
  for (const key of KEY_DESTINATION_SETTINGS) {
    const keyPath = key.split('.');
    if (sourceOf(layers, keyPath) !== repo.source) continue;
    const value = keyPath.reduce<unknown>((node, k) => (isPlainObject(node) ? node[k] : undefined), repo.values);
    if (value !== undefined) settings.push({ key, value, file: repo.source });
  }
  return settings;
}
