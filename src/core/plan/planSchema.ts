import { z } from 'zod';
import { ITEM_ID_PATTERN, normalizeLine, normalizeText, type PlanItemData } from './planFile.js';

/**
 * What the architect must answer: an ordered list of items, each small enough for one Aider run.
 * Validated with zod; the same schema, converted to JSON Schema, is sent to the provider so
 * structured-output models are constrained to it in the first place.
 */

/** Upper bounds keep a runaway answer from becoming a 500-item plan nobody reviews. */
export const MAX_PLAN_ITEMS = 30;
export const MAX_FILES_PER_ITEM = 12;

const text = (what: string, max: number) =>
  z
    .string()
    .transform(normalizeText)
    .pipe(z.string().min(1, `${what} must not be empty`).max(max, `${what} is longer than ${max} characters`));

const filePath = z
  .string()
  .trim()
  .min(1, 'a file path must not be empty')
  .refine((p) => !/[`\n\r]/.test(p), 'a file path must not contain backticks or line breaks')
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(p), 'file paths must be relative to the repository root')
  .refine((p) => !p.split(/[\\/]/).includes('..'), 'file paths must stay inside the repository (no "..")');

export const architectItemSchema = z.object({
  id: z
    .string()
    .trim()
    .regex(ITEM_ID_PATTERN, 'an id looks like P1, P2, P2.1 (a letter, then letters/digits joined by . - _)')
    .describe('Stable ID such as P1, P2, P3 in execution order'),
  title: z
    .string()
    .transform(normalizeLine)
    .pipe(z.string().min(1, 'title must not be empty').max(160, 'title is longer than 160 characters'))
    .describe('Imperative one-line summary of the change'),
  files: z
    .array(filePath)
    .max(MAX_FILES_PER_ITEM, `an item lists at most ${MAX_FILES_PER_ITEM} files; split bigger items`)
    .describe('Repository-relative paths the change creates or edits'),
  action: text('action', 4000).describe(
    'What to change, concretely enough for a coding assistant to do it in one session',
  ),
  verification: text('verification', 2000).describe(
    'Checkable acceptance criteria: tests to add or run, observable behaviour',
  ),
});

export const architectPlanSchema = z
  .object({
    items: z
      .array(architectItemSchema)
      .min(1, 'the plan needs at least one item')
      .max(MAX_PLAN_ITEMS, `the plan has more than ${MAX_PLAN_ITEMS} items; merge or drop some`)
      .describe('Items in the order they should be implemented'),
  })
  .superRefine((plan, ctx) => {
    const seen = new Map<string, number>();
    plan.items.forEach((item, index) => {
      const key = item.id.toUpperCase();
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['items', index, 'id'],
          message: `duplicate id "${item.id}" (also items[${first}])`,
        });
      } else seen.set(key, index);
    });
  });

export type ArchitectPlan = z.output<typeof architectPlanSchema>;

/** Keys every structured-output dialect we target accepts (Gemini's OpenAPI subset, OpenAI strict). */
const PORTABLE_KEYS = new Set([
  'type',
  'properties',
  'required',
  'items',
  'description',
  'additionalProperties',
  'enum',
]);

function portable(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(portable);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!PORTABLE_KEYS.has(key)) continue;
    if (key === 'properties') {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([name, sub]) => [name, portable(sub)]),
      );
    } else out[key] = portable(value);
  }
  return out;
}

/**
 * JSON Schema for the provider's structured-output mode, reduced to the keys every provider takes
 * (length limits and patterns are checked by zod afterwards, and reported back on a retry).
 * Objects are closed and every property required, as OpenAI's strict mode demands.
 */
export function architectJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(architectPlanSchema, { io: 'input', unrepresentable: 'any' });
  const closed = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(closed);
    if (typeof node !== 'object' || node === null) return node;
    const obj = Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, k === 'properties' ? closeProps(v) : closed(v)]),
    );
    if (obj.type === 'object' && obj.properties) {
      obj.additionalProperties = false;
      obj.required = Object.keys(obj.properties as object);
    }
    return obj;
  };
  const closeProps = (props: unknown) =>
    Object.fromEntries(Object.entries(props as Record<string, unknown>).map(([k, v]) => [k, closed(v)]));
  return closed(portable(schema)) as Record<string, unknown>;
}

/** Items as plan-file data: every item starts open. */
export function toPlanItems(plan: ArchitectPlan): PlanItemData[] {
  return plan.items.map((item) => ({
    id: item.id,
    title: item.title,
    status: 'open',
    files: item.files,
    action: item.action,
    verification: item.verification,
  }));
}
