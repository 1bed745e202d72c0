import path from 'node:path';
import type { Config } from '../config.js';
import { assertTrustedDestination } from '../repoTrust.js';
import { AppError } from '../errors.js';
import type { ModelChoice } from '../llm/providers.js';
import { renderAiderIgnore } from './aiderAllowList.js';

/**
 * The exact command line and environment of one unattended Aider run (AIDER.md, checked against
 * aider 0.86.2). Pure: the runner executes it, tests read it.
 */

export interface AiderPaths {
  /** The request for the model, passed with --message-file. */
  messageFile: string;
  /** Our env file (--env-file): loaded last by Aider with override, so it beats a stray repo .env. */
  envFile: string;
  /** HOME for the child: keeps ~/.aider state, caches and ~/.env of the user out of the run. */
  home: string;
  chatHistoryFile: string;
  inputHistoryFile: string;
  llmHistoryFile: string;
  /** JSON lines with token counts and cost per LLM call (written even with --no-analytics). */
  analyticsLog: string;
  /** Our allow-list in gitignore syntax (--aiderignore): Aider sees only the files it names. */
  aiderIgnoreFile: string;
}

export interface AiderInvocationInput {
  coder: ModelChoice;
  config: Pick<Config, 'aider' | 'llm' | 'repoTrust'>;
  /** Files Aider may edit (repo-relative). */
  files: string[];
  /** Files given read-only (repo-relative or absolute). */
  readFiles: string[];
  /** Every file Aider may see or add (aiderAllowList); all others are hidden by --aiderignore. */
  allowed: string[];
  paths: AiderPaths;
  /** The parent's environment, for API keys and PATH. */
  env: NodeJS.ProcessEnv;
}

export interface AiderInvocation {
  args: string[];
  env: Record<string, string>;
  /** Contents for `paths.envFile` (holds the API key: write it 0600 and delete it after the run). */
  envFileText: string;
  /** Aider model settings (`--model-settings-file`, written into `paths.home`). */
  modelSettings: { file: string; text: string };
  /** Contents for `paths.aiderIgnoreFile`. */
  aiderIgnoreText: string;
  /** The model name as Aider sees it, e.g. gemini/gemini-2.5-flash. */
  aiderModel: string;
}

const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/** Flags for an unattended, one-shot run that leaves commits, .gitignore and the user's HOME alone. */
export const UNATTENDED_FLAGS = [
  '--yes-always',
  '--no-auto-commits',
  '--no-dirty-commits',
  '--no-stream',
  '--no-pretty',
  '--no-fancy-input',
  '--no-check-update',
  '--no-show-model-warnings',
  '--no-show-release-notes',
  '--no-gitignore',
  '--no-restore-chat-history',
  '--no-analytics',
  // We run the repo's own checks; Aider's lint/test loops would spend extra LLM calls.
  '--no-auto-lint',
  '--no-auto-test',
  '--no-suggest-shell-commands',
  '--no-detect-urls',
  '--no-notifications',
  '--no-watch-files',
  '--edit-format',
  'diff',
  '--encoding',
  'utf-8',
];

function envLine(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new AppError('bad_config', `${name} must not contain a line break.`);
  // python-dotenv: single quotes keep the value literal.
  return `${name}='${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function missingKey(provider: string, names: string[]): AppError {
  return new AppError(
    'provider_auth',
    `No API key for Aider's ${provider} model: ${names.join(' or ')} is not set.`,
    `Export ${names[0]}=<your key>, or choose another coder model (config llm.coder.provider/model).`,
  );
}

interface CoderConnection {
  /** The model as Aider (litellm) names it, e.g. `gemini/gemini-2.5-flash`. */
  aiderModel: string;
  /** Env-file lines with the key and base URL. */
  envLines: string[];
  modelArgs: string[];
}

/** How Aider reaches the coder's model; an untrusted base URL or a missing key fails (exit 2). */
function coderConnection(
  coder: ModelChoice,
  config: Pick<Config, 'llm' | 'repoTrust'>,
  env: NodeJS.ProcessEnv,
): CoderConnection {
  // Aider gets the key and this base URL: the same trust rule as our own calls.
  assertTrustedDestination(config.repoTrust, `llm.${coder.provider}.baseUrl`);
  const envFile: string[] = [];
  const modelArgs: string[] = [];
  let aiderModel: string;
  switch (coder.provider) {
    case 'gemini': {
      const key = env.GEMINI_API_KEY || env.GOOGLE_API_KEY;
      if (!key) throw missingKey('Gemini', ['GEMINI_API_KEY', 'GOOGLE_API_KEY']);
      aiderModel = `gemini/${coder.model.replace(/^models\//, '')}`;
      envFile.push(envLine('GEMINI_API_KEY', key));
      // litellm posts to {GEMINI_API_BASE}/models/{model}:generateContent (a proxy, or a test server).
      // Always pinned: our env file is loaded after the repo's own .env, which could otherwise
      // point GEMINI_API_BASE (and the key) anywhere.
      envFile.push(
        envLine(
          'GEMINI_API_BASE',
          `${(config.llm.gemini.baseUrl ?? GEMINI_DEFAULT_BASE_URL).replace(/\/+$/, '')}/v1beta`,
        ),
      );
      break;
    }
    case 'openrouter': {
      const key = env.OPENROUTER_API_KEY;
      if (!key) throw missingKey('OpenRouter', ['OPENROUTER_API_KEY']);
      aiderModel = `openrouter/${coder.model}`;
      envFile.push(envLine('OPENROUTER_API_KEY', key));
      envFile.push(envLine('OPENROUTER_API_BASE', config.llm.openrouter.baseUrl));
      // Attribution like our own OpenRouter calls (Aider sets its own at import; the env file wins).
      envFile.push(envLine('OR_SITE_URL', config.llm.openrouter.appUrl));
      envFile.push(envLine('OR_APP_NAME', 'ai-dev-bot'));
      break;
    }
    case 'openai': {
      const base = config.llm.openai.baseUrl ?? OPENAI_DEFAULT_BASE_URL;
      const key = env.OPENAI_API_KEY;
      if (!key && base === OPENAI_DEFAULT_BASE_URL) throw missingKey('OpenAI', ['OPENAI_API_KEY']);
      aiderModel = `openai/${coder.model}`;
      // litellm insists on a key even for local servers that ignore it.
      envFile.push(envLine('OPENAI_API_KEY', key || 'sk-no-key-required'));
      envFile.push(envLine('OPENAI_API_BASE', base));
      // OPENAI_BASE_URL beats OPENAI_API_BASE in litellm; an empty value counts as unset.
      envFile.push("OPENAI_BASE_URL=''");
      modelArgs.push('--openai-api-base', base);
      break;
    }
  }
  return { aiderModel, envLines: envFile, modelArgs };
}

/** Fails now (exit 2) if Aider could not reach the coder's model, before anything runs. */
export function assertCoderReachable(
  coder: ModelChoice,
  config: Pick<Config, 'llm' | 'repoTrust'>,
  env: NodeJS.ProcessEnv,
): void {
  coderConnection(coder, config, env);
}

export function buildAiderInvocation(input: AiderInvocationInput): AiderInvocation {
  const { coder, config, paths, env } = input;
  const { aiderModel, envLines, modelArgs } = coderConnection(coder, config, env);
  const envFile = ['# written by ai-dev-bot for one Aider run; deleted afterwards', ...envLines];

  // `aider/extra_params` merges into every model's settings without replacing them: the coder's
  // output cap, which the meter reserves credits for (local servers otherwise write to the end of
  // their context window).
  const modelSettings = {
    file: path.join(paths.home, 'ai-dev-bot.model-settings.yml'),
    text: `- name: aider/extra_params\n  extra_params:\n    max_tokens: ${coder.maxOutputTokens}\n`,
  };
  const args = [
    '--model',
    aiderModel,
    // The weak model (commit messages, summaries) would otherwise be another, unpriced model.
    '--weak-model',
    aiderModel,
    ...modelArgs,
    ...UNATTENDED_FLAGS,
    '--model-settings-file',
    modelSettings.file,
    '--map-tokens',
    String(config.aider.mapTokens),
    '--timeout',
    String(Math.max(1, Math.round(config.llm.timeoutMs / 1000))),
    '--env-file',
    paths.envFile,
    '--chat-history-file',
    paths.chatHistoryFile,
    '--input-history-file',
    paths.inputHistoryFile,
    '--llm-history-file',
    paths.llmHistoryFile,
    '--analytics-log',
    paths.analyticsLog,
    '--aiderignore',
    paths.aiderIgnoreFile,
    // `--read=<file>`: a file named like a flag (`-rf`) stays the option's value.
    ...input.readFiles.map((file) => `--read=${file}`),
    '--message-file',
    paths.messageFile,
    // `--file=<file>`, not positionals after `--`: configargparse appends a trusted repo
    // `.aider.conf.yml`'s list options to the end of argv, where a `--` would turn them into file
    // names (Aider then created empty files called `--read`…). `=` keeps `-rf` a value.
    ...input.files.map((file) => `--file=${file}`),
  ];

  const childEnv: Record<string, string> = {};
  for (const name of [
    'PATH',
    'LANG',
    'LC_ALL',
    'TMPDIR',
    'SYSTEMROOT',
    'SSL_CERT_FILE',
    'REQUESTS_CA_BUNDLE',
    'HTTPS_PROXY',
    'HTTP_PROXY',
    'NO_PROXY',
    'https_proxy',
    'http_proxy',
    'no_proxy',
  ]) {
    const value = env[name];
    if (value !== undefined) childEnv[name] = value;
  }
  Object.assign(childEnv, {
    HOME: paths.home,
    // The user's git identity still applies to Aider's `git` calls (it only reads, we commit).
    ...(env.HOME ? { GIT_CONFIG_GLOBAL: `${env.HOME}/.gitconfig` } : {}),
    LITELLM_LOCAL_MODEL_COST_MAP: 'True',
    COLUMNS: '1000',
    NO_COLOR: '1',
    TERM: 'dumb',
    PYTHONIOENCODING: 'utf-8',
    PYTHONUNBUFFERED: '1',
  });
  if (env.LANG === undefined && env.LC_ALL === undefined) childEnv.LANG = 'C.UTF-8';

  return {
    args,
    env: childEnv,
    envFileText: `${envFile.join('\n')}\n`,
    modelSettings,
    aiderIgnoreText: renderAiderIgnore(input.allowed),
    aiderModel,
  };
}
