import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { userDir } from './userDirs.js';
import { z } from 'zod';
import { AppError } from './errors.js';
import { writeFileAtomic } from './atomicFile.js';

/**
 * Repo trust (DESIGN §3 security rules): a committed `ai-dev-bot.config.json` must not decide where
 * the user's API keys are sent until the user trusts that repository — as it is now. Trust is kept
 * per user, outside every repository, keyed by the repo's real path and the SHA-256 of its config
 * file, so editing the file (a pull, a hostile commit) needs trust again.
 */

/**
 * Settings that send a key somewhere or run a program that receives the keys. (`sync.url` is not
 * here: sync settings are read from the user's config and environment only, see syncSetup.ts.)
 */
export const KEY_DESTINATION_SETTINGS = [
  'llm.gemini.baseUrl',
  'llm.openrouter.baseUrl',
  'llm.openai.baseUrl',
  'aider.bin',
] as const;
/**
 * Aider's own config files, read from the repo root with the user's key in hand: `.aider.conf.yml`
 * can `set-env` any base URL after our env file is loaded, `.aider.model.settings.yml` can give the
 * model an `api_base`. Their presence is a key destination too.
 */
export const AIDER_REPO_FILES = ['.aider.conf.yml', '.aider.model.settings.yml'] as const;
export type KeyDestinationSetting = (typeof KEY_DESTINATION_SETTINGS)[number] | (typeof AIDER_REPO_FILES)[number];

/** The providers' own endpoints: a repo may name these without trust (they get the key anyway). */
const OFFICIAL_URLS: Partial<Record<KeyDestinationSetting, string>> = {
  'llm.gemini.baseUrl': 'https://generativelanguage.googleapis.com',
  'llm.openrouter.baseUrl': 'https://openrouter.ai/api/v1',
  'llm.openai.baseUrl': 'https://api.openai.com/v1',
};

/** Which key each setting would receive, for the error message. */
const KEYS_AT_RISK: Record<KeyDestinationSetting, string> = {
  'llm.gemini.baseUrl': 'GEMINI_API_KEY',
  'llm.openrouter.baseUrl': 'OPENROUTER_API_KEY',
  'llm.openai.baseUrl': 'OPENAI_API_KEY',
  'aider.bin': 'every API key in your environment',
  '.aider.conf.yml': 'the key you give Aider (it can redirect it with set-env or api bases)',
  '.aider.model.settings.yml': "the key you give Aider (it can set the model's api_base)",
};

function normalizedUrl(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.username || url.password || url.search || url.hash) return undefined;
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

export function isOfficialDestination(setting: KeyDestinationSetting, value: unknown): boolean {
  const official = OFFICIAL_URLS[setting];
  return official !== undefined && typeof value === 'string' && normalizedUrl(value) === official;
}

/** A key-destination setting a repo file chose (or, for Aider's files, the file itself). */
export interface RepoSetting {
  key: KeyDestinationSetting;
  value: unknown;
  /** The file that decides it. */
  file: string;
}

/** A repo file whose content trust covers. */
export interface TrustedFile {
  name: string;
  text: string;
}

/** What the config loader learnt about the repo file's key destinations. */
export interface RepoTrustState {
  repoRoot: string;
  /** SHA-256 over the files trust covers, as read (and validated): what `trust` records. */
  configSha256: string;
  /** Settings in force that came from the repo file and are not a provider's official URL. */
  settings: RepoSetting[];
  trusted: boolean;
  /** The repo was trusted, but its config file changed since. */
  changedSinceTrust: boolean;
}

const trustStoreSchema = z.object({
  version: z.literal(1),
  repos: z.array(z.object({ path: z.string(), configSha256: z.string(), trustedAt: z.string() })),
});
export type TrustStore = z.infer<typeof trustStoreSchema>;
export type TrustedRepo = TrustStore['repos'][number];

export function trustStorePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userDir('config', env), 'trusted-repos.json');
}

export function readTrustStore(env: NodeJS.ProcessEnv = process.env): TrustStore {
  const file = trustStorePath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, repos: [] };
    throw new AppError('bad_config', `Cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return trustStoreSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new AppError(
      'bad_config',
      `${file} is not a valid trust list: ${(error as Error).message.split('\n')[0]}`,
      `Delete ${file} and run \`ai-dev-bot trust\` again in the repositories you trust.`,
    );
  }
}

function writeTrustStore(store: TrustStore, env: NodeJS.ProcessEnv): void {
  writeFileAtomic(trustStorePath(env), `${JSON.stringify(store, null, 2)}\n`);
}

/** One hash over every file trust covers (name and content), so editing any of them needs trust again. */
export function configDigest(files: TrustedFile[]): string {
  const sorted = [...files].sort((a, b) => a.name.localeCompare(b.name));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/** The real path of a repo root, so a symlinked or relative path names the same trust entry. */
export function canonicalRepoPath(repoRoot: string): string {
  try {
    return realpathSync(repoRoot);
  } catch {
    return path.resolve(repoRoot);
  }
}

/** Evaluates a repo config file's key destinations against the user's trust list. */
export function repoTrustState(input: {
  repoRoot: string;
  files: TrustedFile[];
  settings: RepoSetting[];
  env?: NodeJS.ProcessEnv;
}): RepoTrustState {
  const settings = input.settings.filter((s) => !isOfficialDestination(s.key, s.value));
  const configSha256 = configDigest(input.files);
  const base = { repoRoot: input.repoRoot, configSha256, settings };
  if (settings.length === 0) return { ...base, trusted: true, changedSinceTrust: false };
  const entry = readTrustStore(input.env).repos.find((r) => r.path === canonicalRepoPath(input.repoRoot));
  const trusted = entry?.configSha256 === configSha256;
  return { ...base, trusted, changedSinceTrust: entry !== undefined && !trusted };
}

/**
 * Throws exit 2 when `setting` is in force from an untrusted repo file: call it right before a key
 * would be sent to (or a program started from) that setting's value.
 */
export function assertTrustedDestination(state: RepoTrustState | undefined, setting: KeyDestinationSetting): void {
  if (!state || state.trusted) return;
  const chosen = state.settings.find((s) => s.key === setting);
  if (!chosen) return;
  const others = state.settings.filter((s) => s.key !== setting).map((s) => s.key);
  const what = (AIDER_REPO_FILES as readonly string[]).includes(setting)
    ? `${chosen.file} is Aider's own config in this repository, and Aider would read it with ${KEYS_AT_RISK[setting]}.`
    : `${chosen.file} sets ${setting} to ${JSON.stringify(chosen.value)}, and ${KEYS_AT_RISK[setting]} would go there.`;
  throw new AppError(
    'untrusted_config',
    `Refused: ${what} A file committed to a repository may not choose where your keys are sent ` +
      (state.changedSinceTrust
        ? 'and this one changed since you trusted it. Nothing was sent.'
        : 'until you trust that repository. Nothing was sent.') +
      (others.length ? ` It also sets ${others.join(', ')}.` : ''),
    `Review ${chosen.file}; if you trust it, run \`ai-dev-bot trust\` in ${state.repoRoot}. ` +
      `Or remove ${setting} from it and set it in your own config ($XDG_CONFIG_HOME/ai-dev-bot/config.json) or the environment.`,
  );
}

/** Records trust in the repo at `repoRoot` with its config file's content (no file: hash of ''). */
export function trustRepo(
  repoRoot: string,
  configSha256: string,
  env: NodeJS.ProcessEnv = process.env,
  now = new Date(),
): TrustedRepo {
  const store = readTrustStore(env);
  const entry: TrustedRepo = {
    path: canonicalRepoPath(repoRoot),
    configSha256,
    trustedAt: now.toISOString(),
  };
  store.repos = [...store.repos.filter((r) => r.path !== entry.path), entry];
  writeTrustStore(store, env);
  return entry;
}

/** Removes the trust entry for `repoPath`; returns whether there was one. */
export function revokeRepoTrust(repoPath: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const store = readTrustStore(env);
  const target = canonicalRepoPath(repoPath);
  const kept = store.repos.filter((r) => r.path !== target && r.path !== path.resolve(repoPath));
  if (kept.length === store.repos.length) return false;
  writeTrustStore({ ...store, repos: kept }, env);
  return true;
}
