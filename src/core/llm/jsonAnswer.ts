import type { z } from 'zod';
import type { JsonSchema } from './types.js';

/**
 * What a JSON answer must look like: the JSON Schema sent to the provider (enforced by servers with
 * structured output, put into the prompt by the others) and the zod schema that validates it here.
 */
export interface AnswerSchema<T> {
  json: JsonSchema;
  zod: z.ZodType<T>;
  /** Repairs harmless slips before validation, so they do not cost a re-ask. */
  coerce?: (json: unknown) => unknown;
}

export type ParsedAnswer<T> = { ok: true; value: T } | { ok: false; problems: string[] };

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

/** Problems of a zod validation, one per issue as `path: message` (at most 20). */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues
    .slice(0, 20)
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)'}: ${issue.message}`);
}

export function parseAnswer<T>(schema: AnswerSchema<T>, text: string): ParsedAnswer<T> {
  let json: unknown;
  try {
    json = extractJson(text);
  } catch (err) {
    return {
      ok: false,
      problems: [`not valid JSON: ${text.trim() === '' ? 'the answer was empty' : (err as Error).message}`],
    };
  }
  const parsed = schema.zod.safeParse(schema.coerce ? schema.coerce(json) : json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problems: describeIssues(parsed.error) };
}

/** Longest part of an invalid answer echoed back on the re-ask (the model needs to see its mistake). */
const ECHO_CHARS = 6000;

export function echoInvalidAnswer(text: string): string {
  if (text.trim() === '') return '(empty)';
  return text.length > ECHO_CHARS ? `${text.slice(0, ECHO_CHARS)}\n… (truncated)` : text;
}

/** The top-level shape of a schema as a reminder, e.g. `{"items": [{"id", "title"}]}`. */
export function schemaOutline(schema: JsonSchema): string {
  const keys = (node: unknown): string => {
    const props = (node as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
    return Object.entries(props)
      .map(([key, value]) => {
        const items = (value as { type?: unknown; items?: { properties?: unknown } }).items;
        return items?.properties ? `"${key}": [{${keys(items)}}]` : `"${key}"`;
      })
      .join(', ');
  };
  return `{${keys(schema)}}`;
}

/** The follow-up message after an answer that failed validation. */
export function reaskPrompt(what: string, problems: string[], schema: JsonSchema): string {
  return (
    `Your answer was not ${what}:\n${problems.map((p) => `- ${p}`).join('\n')}\n\n` +
    `Answer again with a single JSON object matching the schema (${schemaOutline(schema)}), with no text around it.`
  );
}
