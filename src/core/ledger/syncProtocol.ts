import { z } from 'zod';

/**
 * The wire contract between `credits sync` and `ai-dev-bot-server` (DESIGN §7), shared by both so
 * they cannot drift; the server's OpenAPI document is generated from these schemas.
 * Money is integer on the wire as everywhere: `…Milli` are milli-credits, `…Nano` nano-USD.
 */

/**
 * Largest magnitude of any money field: 10^15 milli-credits (a trillion credits) or nano-USD
 * (a million dollars). Below 2^53, so JSON numbers stay exact in every client.
 */
export const MAX_MONEY = 1_000_000_000_000_000;
export const MAX_TOKENS = 1_000_000_000;
export const MAX_BATCH = 1000;

const money = (what: string) =>
  z
    .number()
    .int(`${what} must be an integer`)
    .min(-MAX_MONEY, `${what} must be at least -${MAX_MONEY}`)
    .max(MAX_MONEY, `${what} must be at most ${MAX_MONEY}`);
const text = (max: number) => z.string().max(max);
const isoTime = z.iso.datetime({ offset: true });

export const usageSchema = z.strictObject({
  id: z.uuid(),
  provider: text(64).min(1),
  model: text(200).min(1),
  task: text(64).min(1),
  inputTokens: z.number().int().min(0).max(MAX_TOKENS),
  outputTokens: z.number().int().min(0).max(MAX_TOKENS),
  costSource: text(20).min(1),
  tokensEstimated: z.boolean(),
  latencyMs: z.number().int().min(0).max(MAX_TOKENS).nullable(),
  status: z.enum(['ok', 'failed']),
});
export type WireUsage = z.infer<typeof usageSchema>;

/** A transaction a client pushes: only usage. Grants and purchases are made on the server. */
export const pushedTransactionSchema = z.strictObject({
  id: z.uuid(),
  type: z.literal('usage_deduction'),
  creditsMilli: money('creditsMilli').max(0, 'creditsMilli of usage must be zero or negative'),
  usdCostNano: money('usdCostNano').min(0, 'usdCostNano must not be negative').nullable(),
  project: text(200).nullable(),
  description: text(500),
  createdAt: isoTime,
  usage: usageSchema.nullable(),
});
export type PushedTransaction = z.infer<typeof pushedTransactionSchema>;

export const pushRequestSchema = z.strictObject({
  transactions: z
    .array(pushedTransactionSchema)
    .min(1, 'a batch needs at least one transaction')
    .max(MAX_BATCH, `a batch holds at most ${MAX_BATCH} transactions`),
});

/** Opaque to clients: hand back what the server gave. */
const cursor = z.string().regex(/^\d{1,19}$/, 'cursor must be a cursor returned by the server');

export const pushResponseSchema = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  balanceMilli: z.number().int(),
  cursor,
});
export type PushResponse = z.infer<typeof pushResponseSchema>;

export const transactionTypeSchema = z.enum([
  'initial_grant',
  'grant',
  'purchase',
  'usage_deduction',
  'sync_adjustment',
]);

export const pulledTransactionSchema = z.object({
  id: z.string(),
  cursor,
  type: transactionTypeSchema,
  creditsMilli: money('creditsMilli'),
  usdCostNano: money('usdCostNano').nullable(),
  project: z.string().nullable(),
  description: z.string(),
  createdAt: z.string(),
  member: z.string().nullable(),
  externalTransactionId: z.string().nullable(),
  usage: usageSchema.nullable(),
});
export type PulledTransaction = z.infer<typeof pulledTransactionSchema>;

export const pullQuerySchema = z.strictObject({
  after: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_BATCH).optional(),
});

export const pullResponseSchema = z.object({
  transactions: z.array(pulledTransactionSchema),
  cursor,
  hasMore: z.boolean(),
});
export type PullResponse = z.infer<typeof pullResponseSchema>;

export const balanceResponseSchema = z.object({
  account: z.object({ id: z.string(), name: z.string() }),
  member: z.object({ id: z.string(), name: z.string() }),
  balanceMilli: z.number().int(),
  cursor,
});
export type BalanceResponse = z.infer<typeof balanceResponseSchema>;

export const errorResponseSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
