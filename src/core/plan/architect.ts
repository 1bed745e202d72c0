import { AppError } from '../errors.js';
import type { Reporter } from '../reporter.js';
import {
  ARCHITECT_SYSTEM_PROMPT,
  buildArchitectUserPrompt,
  buildRetryPrompt,
  echoInvalidAnswer,
} from './architectPrompt.js';
import type { PlanContext } from './planContext.js';
import { architectJsonSchema, architectPlanSchema, describeIssues, type ArchitectPlan } from './planSchema.js';

/**
 * One architect request, shaped like the LLM layer's `LlmRequest` (structurally compatible), so
 * the CLI can pass a metered provider call and tests a scripted one.
 */
export interface ArchitectRequest {
  system: string;
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  jsonSchema: Record<string, unknown>;
  maxOutputTokens: number;
  temperature?: number;
}

export interface ArchitectReply {
  text: string;
  /** The model that answered, as the provider named it. */
  model: string;
  inputTokens?: number;
  outputTokens?: number;
}

/** Makes one (metered, retried-on-transport-errors) LLM call; throws AppError on failure. */
export type ArchitectCall = (request: ArchitectRequest) => Promise<ArchitectReply>;

export interface ArchitectResult {
  plan: ArchitectPlan;
  /** Every reply, the invalid first one included (for usage totals). */
  replies: ArchitectReply[];
}

/** Extracts the JSON object from an answer, tolerating a ```json fence or prose around it. */
export function extractJson(text: string): unknown {
  const trimmed = text.trim();
  const fence = /^```[\w-]*\s*\n([\s\S]*?)\n?```\s*$/.exec(trimmed);
  const body = fence ? fence[1]! : trimmed;
  try {
    return JSON.parse(body);
  } catch (err) {
    const start = body.indexOf('{');
    const end = body.lastIndexOf('}');
    if (start !== -1 && end > start) {
      try {
        return JSON.parse(body.slice(start, end + 1));
      } catch {
        // fall through to the original error, which names the position
      }
    }
    throw err;
  }
}

/**
 * Repairs harmless shape slips models make often (a bare number as id, files as one
 * comma-separated string, action/verification as a list of lines), so they do not cost a retry.
 * Anything else is left for the schema to reject.
 */
export function coerceArchitectShape(json: unknown): unknown {
  if (typeof json !== 'object' || json === null) return json;
  const root = Array.isArray(json) ? { items: json } : (json as Record<string, unknown>);
  if (!Array.isArray(root.items)) return root;
  const items = root.items.map((raw: unknown) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
    const item = { ...(raw as Record<string, unknown>) };
    if (typeof item.id === 'number') item.id = String(item.id);
    if (typeof item.id === 'string' && /^\d+(?:\.\d+)*$/.test(item.id.trim())) item.id = `P${item.id.trim()}`;
    if (typeof item.files === 'string')
      item.files = item.files
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean);
    for (const key of ['action', 'verification'] as const) {
      const value = item[key];
      if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
        item[key] = value.map((v) => `- ${v}`).join('\n');
    }
    return item;
  });
  return { ...root, items };
}

type Validation = { ok: true; plan: ArchitectPlan } | { ok: false; problems: string };

export function validateArchitectAnswer(text: string): Validation {
  let json: unknown;
  try {
    json = extractJson(text);
  } catch (err) {
    const snippet = text.trim() === '' ? 'the answer was empty' : (err as Error).message;
    return { ok: false, problems: `- not valid JSON: ${snippet}` };
  }
  const parsed = architectPlanSchema.safeParse(coerceArchitectShape(json));
  return parsed.success ? { ok: true, plan: parsed.data } : { ok: false, problems: describeIssues(parsed.error) };
}

/**
 * Asks the architect for a plan and validates it. An invalid answer is retried once, with the
 * validation problems in the conversation; a second invalid answer is exit 7 (the provider
 * "failed": it could not produce a usable plan). Transport errors are the call's own business.
 */
export async function requestArchitectPlan(
  call: ArchitectCall,
  input: { goal: string; context: PlanContext; maxOutputTokens: number },
  reporter: Reporter,
): Promise<ArchitectResult> {
  const userPrompt = buildArchitectUserPrompt(input.goal, input.context);
  const base = {
    system: ARCHITECT_SYSTEM_PROMPT,
    jsonSchema: architectJsonSchema(),
    maxOutputTokens: input.maxOutputTokens,
    temperature: 0.2,
  };
  const replies: ArchitectReply[] = [];

  const first = await call({ ...base, messages: [{ role: 'user', content: userPrompt }] });
  replies.push(first);
  const firstCheck = validateArchitectAnswer(first.text);
  if (firstCheck.ok) return { plan: firstCheck.plan, replies };

  reporter.warn(`The architect's plan was invalid; asking once more.\n${firstCheck.problems}`);
  const second = await call({
    ...base,
    messages: [
      { role: 'user', content: userPrompt },
      { role: 'assistant', content: echoInvalidAnswer(first.text) },
      { role: 'user', content: buildRetryPrompt(firstCheck.problems) },
    ],
  });
  replies.push(second);
  const secondCheck = validateArchitectAnswer(second.text);
  if (secondCheck.ok) return { plan: secondCheck.plan, replies };

  throw new AppError(
    'provider_failed',
    `The model's answer was not a valid plan: the architect (${second.model}) returned an invalid plan twice; nothing was written.\n${secondCheck.problems}`,
    secondCheck.problems.includes('not valid JSON')
      ? 'If the answer was cut off, raise llm.architect.maxOutputTokens in ai-dev-bot.config.json; otherwise run again or pick a stronger model with --model.'
      : 'Run the command again, or pick a stronger model with --model (or --provider).',
  );
}
