import { AppError } from '../errors.js';
import { parseAnswer, type AnswerSchema } from '../llm/jsonAnswer.js';
import type { MeteredModel } from '../llm/meteredModel.js';
import { ARCHITECT_SYSTEM_PROMPT, buildArchitectUserPrompt } from './architectPrompt.js';
import type { PlanContext } from './planContext.js';
import { architectJsonSchema, architectPlanSchema, type ArchitectPlan } from './planSchema.js';

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

const architectAnswer: AnswerSchema<ArchitectPlan> = {
  json: architectJsonSchema(),
  zod: architectPlanSchema,
  coerce: coerceArchitectShape,
};

/** The plan in an answer, or its problems as `- path: message` lines. */
export function validateArchitectAnswer(
  text: string,
): { ok: true; plan: ArchitectPlan } | { ok: false; problems: string } {
  const parsed = parseAnswer(architectAnswer, text);
  return parsed.ok ? { ok: true, plan: parsed.value } : { ok: false, problems: problemLines(parsed.problems) };
}

const problemLines = (problems: string[]) => problems.map((p) => `- ${p}`).join('\n');

/**
 * Asks the architect for a plan. An invalid answer is asked for once more (`completeJson`); a
 * second one is exit 7 (the provider "failed": it could not produce a usable plan).
 */
export async function requestArchitectPlan(
  architect: MeteredModel,
  input: { goal: string; context: PlanContext },
): Promise<{ plan: ArchitectPlan; model: string }> {
  const prompt = {
    system: ARCHITECT_SYSTEM_PROMPT,
    user: buildArchitectUserPrompt(input.goal, input.context),
    answer: 'plan',
    temperature: 0.2,
  };
  const answer = await architect.completeJson(architectAnswer, prompt, { task: 'planning' });
  if (answer.ok) return { plan: answer.value, model: answer.model };
  const problems = problemLines(answer.problems);
  throw new AppError(
    'provider_failed',
    `The model's answer was not a valid plan: the architect (${answer.model}) returned an invalid plan twice; nothing was written.\n${problems}`,
    problems.includes('not valid JSON')
      ? 'If the answer was cut off, raise llm.architect.maxOutputTokens in ai-dev-bot.config.json; otherwise run again or pick a stronger model with --model.'
      : 'Run the command again, or pick a stronger model with --model (or --provider).',
  );
}
