/**
 * Removes API keys and tokens from text before it reaches a log, transcript or terminal.
 * Known key env vars are replaced by value; common key shapes are caught by pattern.
 */
const SECRET_ENV_VARS = [
  'GEMINI_API_KEY',
  'GOOGLE_API_KEY',
  'OPENROUTER_API_KEY',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'AI_DEV_BOT_TOKEN',
  'AI_DEV_BOT_ADMIN_TOKEN',
];

const SECRET_PATTERNS: RegExp[] = [
  /\bsk-(?:or-v1-|proj-|ant-)?[A-Za-z0-9_-]{16,}/g,
  /\bAIza[0-9A-Za-z_-]{30,}/g,
  /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{12,}/gi,
  /\b(x-goog-api-key["']?\s*[:=]\s*["']?)[A-Za-z0-9_-]{12,}/gi,
  // Also with a prefix: DB_PASSWORD=…, AWS_SECRET=…, github-token: …
  /\b((?:[A-Za-z0-9]+[_-])*(?:api[_-]?key|token|secret|password)["']?\s*[:=]\s*["']?)[A-Za-z0-9._~+/=-]{12,}/gi,
];

export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const name of SECRET_ENV_VARS) {
    const value = env[name];
    if (value && value.length >= 6) out = out.split(value).join(`[${name}]`);
  }
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match: string, prefix?: string) =>
      typeof prefix === 'string' ? `${prefix}[REDACTED]` : '[REDACTED]',
    );
  }
  return out;
}
