import type { LlmRequest } from './types.js';

/**
 * Counts tokens with OpenAI's o200k_base BPE (gpt-tokenizer, pure JS). It is exact for OpenAI
 * models and a close proxy for the others (Gemini's and Claude's tokenizers land within roughly
 * ±15 % on code and prose); metering uses it only for the pre-call estimate, and charges what the
 * provider reports. Loaded on first use (~150 ms, a 3 MB table), so commands without LLM calls
 * never pay for it.
 */
export interface TokenCounter {
  count(text: string): number;
}

let loading: Promise<TokenCounter> | undefined;

export function loadTokenCounter(): Promise<TokenCounter> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then((mod) => ({
    count: (text: string) => (text ? mod.countTokens(text) : 0),
  }));
  return loading;
}

/** Chat formatting adds a few tokens per message (role markers, separators). */
const PER_MESSAGE_OVERHEAD = 4;

export function countRequestTokens(counter: TokenCounter, request: LlmRequest): number {
  let total = 3;
  if (request.system) total += counter.count(request.system) + PER_MESSAGE_OVERHEAD;
  for (const message of request.messages) total += counter.count(message.content) + PER_MESSAGE_OVERHEAD;
  if (request.jsonSchema) total += counter.count(JSON.stringify(request.jsonSchema));
  return total;
}
