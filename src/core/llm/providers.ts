import type { Config, ProviderId } from '../config.js';
import { providerIds } from '../config.js';
import { AppError, usageError } from '../errors.js';
import { GeminiProvider } from './gemini.js';
import { OpenAiCompatibleProvider, openRouterAppHeaders } from './openaiCompatible.js';
import type { Reporter } from '../reporter.js';
import { fileShapeMemory, requestShapesFile, type ShapeMemory } from './shapeMemory.js';
import { assertInputLength } from '../inputLimits.js';
import { assertTrustedDestination } from '../repoTrust.js';
import type { Meter } from './meter.js';
import { MeteredModel } from './meteredModel.js';
import type { LlmProvider, ModelChoice } from './types.js';

export type LlmRole = 'architect' | 'coder';

export type { ModelChoice };

/** Used when `--provider` switches away from the configured provider without naming a model. */
export const DEFAULT_MODELS: Record<ProviderId, string> = {
  gemini: 'gemini-2.5-flash',
  openrouter: 'google/gemini-2.5-flash',
  openai: 'gpt-4o-mini',
};

const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export function parseProviderId(value: string): ProviderId {
  if ((providerIds as readonly string[]).includes(value)) return value as ProviderId;
  throw usageError(`Unknown provider "${value}".`, `Use one of: ${providerIds.join(', ')}.`);
}

export function chooseModel(
  config: Config,
  role: LlmRole,
  flags: { provider?: string; model?: string } = {},
): ModelChoice {
  const configured = config.llm[role];
  if (flags.model !== undefined) assertInputLength('model', flags.model);
  const provider = flags.provider ? parseProviderId(flags.provider) : configured.provider;
  const model = flags.model ?? (provider === configured.provider ? configured.model : DEFAULT_MODELS[provider]);
  return { provider, model, maxOutputTokens: configured.maxOutputTokens };
}

// Lives in retry.ts (the ledger's meter needs it without loading the provider clients).
export { retryPolicy } from './retry.js';

function missingKey(provider: string, envVars: string[], extra = ''): AppError {
  return new AppError(
    'provider_auth',
    `No API key for ${provider}: ${envVars.join(' or ')} is not set.${extra}`,
    `Export ${envVars[0]}=<your key> (or pick another provider with --provider).`,
  );
}

export interface ProviderExtras {
  /** `--verbose` lines (which structured-output mode a server gets). */
  reporter?: Reporter;
  /** Default: the request-shapes file in the user cache. */
  shapeMemory?: ShapeMemory;
}

/** Builds the provider for a choice; a missing key is a usage error (exit 2) naming the variable. */
export function createProvider(
  choice: ModelChoice,
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  extras: ProviderExtras = {},
): LlmProvider {
  const timeoutMs = config.llm.timeoutMs;
  const shapes = {
    shapeMemory: extras.shapeMemory ?? fileShapeMemory(requestShapesFile(env)),
    ...(extras.reporter ? { debug: (line: string) => extras.reporter!.debug(line) } : {}),
  };
  assertTrustedDestination(config.repoTrust, `llm.${choice.provider}.baseUrl`);
  switch (choice.provider) {
    case 'gemini': {
      const keyEnvVar = env.GEMINI_API_KEY ? 'GEMINI_API_KEY' : env.GOOGLE_API_KEY ? 'GOOGLE_API_KEY' : undefined;
      if (!keyEnvVar) throw missingKey('Gemini', ['GEMINI_API_KEY', 'GOOGLE_API_KEY']);
      return new GeminiProvider({
        apiKey: env[keyEnvVar]!,
        model: choice.model,
        timeoutMs,
        keyEnvVar,
        ...(config.llm.gemini.baseUrl ? { baseUrl: config.llm.gemini.baseUrl } : {}),
      });
    }
    case 'openrouter': {
      const apiKey = env.OPENROUTER_API_KEY;
      if (!apiKey) throw missingKey('OpenRouter', ['OPENROUTER_API_KEY']);
      return new OpenAiCompatibleProvider({
        provider: 'openrouter',
        baseUrl: config.llm.openrouter.baseUrl,
        apiKey,
        model: choice.model,
        timeoutMs,
        keyEnvVar: 'OPENROUTER_API_KEY',
        headers: openRouterAppHeaders(config.llm.openrouter.appUrl),
        // Usage accounting: the response then carries usage.cost, the real charge.
        extraBody: { usage: { include: true } },
        ...shapes,
      });
    }
    case 'openai': {
      const baseUrl = config.llm.openai.baseUrl ?? OPENAI_DEFAULT_BASE_URL;
      const apiKey = env.OPENAI_API_KEY;
      // Local servers (Ollama, vLLM, LM Studio) need no key; OpenAI's own API does.
      if (!apiKey && baseUrl === OPENAI_DEFAULT_BASE_URL) {
        throw missingKey(
          'OpenAI',
          ['OPENAI_API_KEY'],
          ' Set OPENAI_BASE_URL to use a local OpenAI-compatible server instead.',
        );
      }
      return new OpenAiCompatibleProvider({
        provider: 'openai',
        baseUrl,
        ...(apiKey ? { apiKey } : {}),
        model: choice.model,
        timeoutMs,
        keyEnvVar: 'OPENAI_API_KEY',
        ...(baseUrl === OPENAI_DEFAULT_BASE_URL ? { maxTokensField: 'max_completion_tokens' as const } : {}),
        ...shapes,
      });
    }
  }
}

/** A role's model, chosen and connected, waiting for the command's meter. */
export interface RoleModel {
  readonly choice: ModelChoice;
  metered(meter: Meter): MeteredModel;
}

/**
 * The model of a role after config and `--provider/--model`. Its client is built now, so a missing
 * key fails (exit 2) before any work; with `connectOnFirstCall` only when first called (the coder,
 * whose calls Aider makes with its own client, still metered through this model).
 */
export function roleModel(
  config: Config,
  role: LlmRole,
  flags: { provider?: string; model?: string } = {},
  extras: ProviderExtras & { env?: NodeJS.ProcessEnv; connectOnFirstCall?: boolean } = {},
): RoleModel {
  const choice = chooseModel(config, role, flags);
  const connect = () => createProvider(choice, config, extras.env ?? process.env, extras);
  const client = extras.connectOnFirstCall ? connect : connect();
  return { choice, metered: (meter) => new MeteredModel(meter, choice, client) };
}
