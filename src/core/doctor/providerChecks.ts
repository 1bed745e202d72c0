import { request, type Dispatcher } from 'undici';
import { providerIds, type Config, type ProviderId } from '../config.js';
import { failed, messageOf, ok, warning, type DoctorCheck } from './doctorCheck.js';

/** Which providers the configured roles use, with the model each role asks for. */
function configuredProviders(config: Config): Map<ProviderId, string[]> {
  const used = new Map<ProviderId, string[]>();
  for (const role of ['architect', 'coder'] as const) {
    const { provider, model } = config.llm[role];
    const models = used.get(provider) ?? [];
    if (!models.includes(model)) models.push(model);
    used.set(provider, models);
  }
  return used;
}

interface ProviderAccess {
  keyVar: string | undefined;
  keyVars: string[];
  baseUrl: string;
  needsKey: boolean;
}

function accessFor(provider: ProviderId, config: Config, env: NodeJS.ProcessEnv): ProviderAccess {
  if (provider === 'gemini') {
    const keyVars = ['GEMINI_API_KEY', 'GOOGLE_API_KEY'];
    return {
      keyVar: keyVars.find((name) => env[name]),
      keyVars,
      baseUrl: config.llm.gemini.baseUrl ?? 'https://generativelanguage.googleapis.com',
      needsKey: true,
    };
  }
  if (provider === 'openrouter')
    return {
      keyVar: env.OPENROUTER_API_KEY ? 'OPENROUTER_API_KEY' : undefined,
      keyVars: ['OPENROUTER_API_KEY'],
      baseUrl: config.llm.openrouter.baseUrl,
      needsKey: true,
    };
  const baseUrl = config.llm.openai.baseUrl ?? 'https://api.openai.com/v1';
  return {
    keyVar: env.OPENAI_API_KEY ? 'OPENAI_API_KEY' : undefined,
    keyVars: ['OPENAI_API_KEY'],
    baseUrl,
    // Local servers (llama.cpp, Ollama, vLLM, LM Studio) take requests without a key.
    needsKey: baseUrl === 'https://api.openai.com/v1',
  };
}

/** Which keys and base URLs are set (never their values), for each provider the config uses. */
export function providerChecks(config: Config, env: NodeJS.ProcessEnv): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const used = configuredProviders(config);
  for (const provider of providerIds.filter((id) => !used.has(id))) {
    const access = accessFor(provider, config, env);
    const baseSet = provider === 'openai' ? Boolean(config.llm.openai.baseUrl) : false;
    if (access.keyVar || baseSet)
      checks.push(
        ok(
          `keys.${provider}`,
          `${provider}: ${access.keyVar ? `${access.keyVar} is set` : 'no key'}; base URL ${access.baseUrl} (not used by the config's roles; pick it with --provider ${provider})`,
        ),
      );
  }
  for (const [provider, models] of configuredProviders(config)) {
    const access = accessFor(provider, config, env);
    const uses = `used by ${models.join(', ')}`;
    if (access.keyVar)
      checks.push(ok(`keys.${provider}`, `${provider}: ${access.keyVar} is set; base URL ${access.baseUrl} (${uses})`));
    else if (!access.needsKey)
      checks.push(ok(`keys.${provider}`, `${provider}: no key needed for ${access.baseUrl} (${uses})`));
    else
      checks.push(
        failed(
          `keys.${provider}`,
          `${provider}: ${access.keyVars.join(' or ')} is not set (${uses})`,
          `export ${access.keyVars[0]}=<your key>, or choose another provider in config llm.architect/llm.coder.`,
        ),
      );
  }
  return checks;
}

/**
 * One cheap, unbilled request per configured provider: the model list (OpenAI-compatible) or the
 * model's metadata (Gemini). It proves the base URL answers and the key is accepted.
 */
export async function onlineProviderChecks(
  config: Config,
  env: NodeJS.ProcessEnv,
  dispatcher?: Dispatcher,
): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  for (const [provider, models] of configuredProviders(config)) {
    const access = accessFor(provider, config, env);
    if (access.needsKey && !access.keyVar) continue; // already an error above; nothing to send
    const key = access.keyVar ? env[access.keyVar] : undefined;
    const base = access.baseUrl.replace(/\/+$/, '');
    const url = provider === 'gemini' ? `${base}/v1beta/models/${encodeURIComponent(models[0]!)}` : `${base}/models`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (key)
      headers[provider === 'gemini' ? 'x-goog-api-key' : 'authorization'] =
        provider === 'gemini' ? key : `Bearer ${key}`;
    const id = `online.${provider}`;
    try {
      const res = await request(url, {
        method: 'GET',
        headers,
        signal: AbortSignal.timeout(Math.min(config.llm.timeoutMs, 15_000)),
        ...(dispatcher ? { dispatcher } : {}),
      });
      const text = await res.body.text();
      if (
        res.statusCode === 401 ||
        res.statusCode === 403 ||
        (provider === 'gemini' && /API[_ ]KEY/i.test(text) && res.statusCode === 400)
      )
        checks.push(
          failed(
            id,
            `${provider}: ${url} rejected the key (HTTP ${res.statusCode})`,
            `Check ${access.keyVar ?? access.keyVars[0]}.`,
          ),
        );
      else if (res.statusCode >= 400)
        checks.push(
          warning(
            id,
            `${provider}: GET ${url} answered HTTP ${res.statusCode}`,
            'Check the base URL and the model name in the config.',
          ),
        );
      else checks.push(listedModelCheck(id, provider, url, models, text));
    } catch (error) {
      checks.push(
        failed(
          id,
          `${provider}: cannot reach ${url}: ${messageOf(error)}`,
          'Check the network, a proxy (HTTPS_PROXY) or the base URL.',
        ),
      );
    }
  }
  return checks;
}

function listedModelCheck(id: string, provider: ProviderId, url: string, models: string[], body: string): DoctorCheck {
  if (provider === 'gemini') return ok(id, `${provider}: ${url} answered; the key works`);
  let listed: string[] = [];
  try {
    listed = ((JSON.parse(body) as { data?: Array<{ id?: string }> }).data ?? []).map((m) => m.id ?? '');
  } catch {
    // a server without a usable model list still answered
  }
  const missing = models.filter((model) => listed.length > 0 && !listed.includes(model));
  return missing.length === 0
    ? ok(id, `${provider}: ${url} answered (${listed.length} models listed)`)
    : warning(
        id,
        `${provider}: ${url} does not list ${missing.join(', ')}`,
        `Pick a listed model (e.g. ${listed.slice(0, 3).join(', ')}) with --model or config llm.<role>.model.`,
      );
}
