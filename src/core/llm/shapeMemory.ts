import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { userCacheDir } from '../workspace.js';
import type { RequestShape } from './requestShape.js';

/** A shape that worked for one server and model, with the server's answer that made us change. */
export interface RememberedShape extends RequestShape {
  /** The rejection that caused the last downgrade (HTTP status and the server's message). */
  reason: string;
  updatedAt: string;
}

/** Remembers per base URL + model which request shape works, so the next run starts there. */
export interface ShapeMemory {
  get(baseUrl: string, model: string): RememberedShape | undefined;
  set(baseUrl: string, model: string, shape: RememberedShape): void;
}

const rememberedSchema = z.object({
  jsonMode: z.enum(['json_schema', 'json_object', 'text']),
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']),
  reason: z.string(),
  updatedAt: z.string(),
});
const fileSchema = z.record(z.string(), rememberedSchema);

const keyOf = (baseUrl: string, model: string) => `${baseUrl.replace(/\/+$/, '')} ${model}`;

/** `<user cache>/request-shapes.json`: a cache, so an unreadable file is simply started afresh. */
export function requestShapesFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userCacheDir(env), 'request-shapes.json');
}

export function fileShapeMemory(file: string): ShapeMemory {
  const read = (): Record<string, RememberedShape> => {
    try {
      return fileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch {
      return {};
    }
  };
  return {
    get: (baseUrl, model) => read()[keyOf(baseUrl, model)],
    set(baseUrl, model, shape) {
      const all = { ...read(), [keyOf(baseUrl, model)]: shape };
      mkdirSync(path.dirname(file), { recursive: true });
      // Write-then-rename: a concurrent reader sees the old file or the new one, never half of one.
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, `${JSON.stringify(all, null, 2)}\n`);
      renameSync(temp, file);
    },
  };
}

/** For tests and one-off callers: remembers within the process only. */
export function inMemoryShapeMemory(): ShapeMemory {
  const all = new Map<string, RememberedShape>();
  return {
    get: (baseUrl, model) => all.get(keyOf(baseUrl, model)),
    set: (baseUrl, model, shape) => void all.set(keyOf(baseUrl, model), shape),
  };
}
