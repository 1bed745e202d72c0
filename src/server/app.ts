import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  MAX_MONEY,
  balanceResponseSchema,
  errorResponseSchema,
  pullQuerySchema,
  pullResponseSchema,
  pushRequestSchema,
  pushResponseSchema,
} from '../core/ledger/syncProtocol.js';
import { authenticate, createAccount, findAccount, issueToken, listAccounts, revokeToken } from './accounts.js';
import type { AuthenticatedMember } from './accounts.js';
import { ApiError } from './apiError.js';
import { pingServerDb, type ServerDb } from './database.js';
import { balanceOf, creditAccount, pullTransactions, pushTransactions } from './teamLedger.js';
import { bearerToken, hashToken, secretsEqual } from './tokens.js';

export interface AppOptions {
  server: ServerDb;
  /** Manages accounts, tokens, grants and purchases; admin routes answer 401 without one. */
  adminToken?: string | undefined;
  /** Largest request body in bytes (413 above it). */
  bodyLimit?: number;
  /** Requests per token (or per address, unauthenticated) per minute, per instance (429 above it). */
  rateLimitPerMinute?: number;
  logLevel?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    member?: AuthenticatedMember;
  }
}

const errors = { 400: errorResponseSchema, 401: errorResponseSchema, 404: errorResponseSchema };
const positiveMoney = z.number().int().min(1).max(MAX_MONEY);
const creditRequest = z.strictObject({
  accountId: z.string().min(1).max(200),
  creditsMilli: positiveMoney,
  description: z.string().max(500).optional(),
});
const creditResponse = z.object({
  transactionId: z.string(),
  duplicate: z.boolean(),
  balanceMilli: z.number().int(),
});
const accountSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });

/** Fastify's own error codes mapped to the API's stable ones. */
function errorBody(error: { code?: string; statusCode?: number; message: string; validation?: unknown }) {
  if (error instanceof ApiError) return { status: error.statusCode, code: error.code, message: error.message };
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return { status: 413, code: 'body_too_large', message: 'The request body is larger than the server accepts.' };
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return { status: 400, code: 'bad_json', message: 'The request body is not valid JSON.' };
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return { status: 415, code: 'bad_media_type', message: 'Send the body as application/json.' };
  if (error.validation) return { status: 400, code: 'bad_request', message: error.message };
  if (error.statusCode === 429) return { status: 429, code: 'rate_limited', message: error.message };
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
    return { status: error.statusCode, code: 'bad_request', message: error.message };
  return { status: 500, code: 'internal', message: 'Internal server error.' };
}

function requireMember(request: FastifyRequest): AuthenticatedMember {
  if (!request.member) throw new ApiError(401, 'unauthorized', 'Missing or invalid bearer token.');
  return request.member;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { server } = options;
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    logger: { level: options.logLevel ?? 'info', redact: ['req.headers.authorization'] },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((error, request, reply) => {
    const body = errorBody(error as Parameters<typeof errorBody>[0]);
    if (body.status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(body.status).send({ error: { code: body.code, message: body.message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'not_found', message: `No route ${request.method} ${request.url}` } });
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'ai-dev-bot team ledger', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifyRateLimit, {
    max: options.rateLimitPerMinute ?? 600,
    timeWindow: 60_000,
    // Per token (hashed, never kept in clear) so a team behind one NAT does not share a limit.
    keyGenerator: (request) => {
      const token = bearerToken(request.headers.authorization);
      return token ? `t:${hashToken(token)}` : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) => {
      const error = new ApiError(
        429,
        'rate_limited',
        `Too many requests: retry in ${Math.ceil(context.ttl / 1000)} s.`,
      );
      return Object.assign(error, { statusCode: 429 });
    },
  });

  const admin = async (request: FastifyRequest) => {
    const token = bearerToken(request.headers.authorization);
    if (!options.adminToken || !token || !secretsEqual(token, options.adminToken))
      throw new ApiError(401, 'unauthorized', 'This route needs the admin token.');
  };
  app.decorateRequest('member', undefined);
  const memberAuth = async (request: FastifyRequest) => {
    const token = bearerToken(request.headers.authorization);
    const member = token ? await authenticate(server, token) : undefined;
    if (!member) throw new ApiError(401, 'unauthorized', 'Missing, unknown or revoked bearer token.');
    request.member = member;
  };

  app.get('/healthz', { config: { rateLimit: false }, schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { config: { rateLimit: false }, schema: { hide: true } }, async (_request, reply) => {
    try {
      await pingServerDb(server);
      return { ok: true };
    } catch {
      return reply.status(503).send({ ok: false, error: { code: 'db_unreachable', message: 'Database unreachable.' } });
    }
  });
  app.get('/openapi.json', { config: { rateLimit: false }, schema: { hide: true } }, async () => app.swagger());

  app.post(
    '/v1/transactions',
    {
      preHandler: memberAuth,
      schema: {
        description: 'Push a batch of usage transactions (idempotent by transaction id, atomic per batch).',
        body: pushRequestSchema,
        response: { 200: pushResponseSchema, ...errors, 409: errorResponseSchema },
      },
    },
    async (request) => {
      const member = requireMember(request);
      return pushTransactions(server, member, request.body.transactions);
    },
  );

  app.get(
    '/v1/transactions',
    {
      preHandler: memberAuth,
      schema: {
        description: "The account's transactions after a cursor, oldest first.",
        querystring: pullQuerySchema,
        response: { 200: pullResponseSchema, ...errors },
      },
    },
    async (request) =>
      pullTransactions(server, requireMember(request).accountId, request.query.after, request.query.limit ?? 500),
  );

  app.get(
    '/v1/balance',
    { preHandler: memberAuth, schema: { response: { 200: balanceResponseSchema, ...errors } } },
    async (request) => {
      const member = requireMember(request);
      const { balanceMilli, cursor } = await balanceOf(server.db, member.accountId);
      return {
        account: { id: member.accountId, name: member.accountName },
        member: { id: member.memberId, name: member.memberName },
        balanceMilli: Number(balanceMilli),
        cursor,
      };
    },
  );

  app.post(
    '/v1/purchases',
    {
      preHandler: admin,
      schema: {
        description: 'Credit a purchase (admin token or payment webhook); idempotent by externalTransactionId.',
        body: creditRequest.extend({ externalTransactionId: z.string().min(1).max(200) }),
        response: { 200: creditResponse, ...errors, 409: errorResponseSchema },
      },
    },
    async (request) => {
      const account = await findAccount(server, request.body.accountId);
      const result = await creditAccount(server, 'purchase', {
        accountId: account.id,
        creditsMilli: BigInt(request.body.creditsMilli),
        description: request.body.description ?? `purchase ${request.body.externalTransactionId}`,
        externalTransactionId: request.body.externalTransactionId,
      });
      return { ...result, balanceMilli: Number(result.balanceMilli) };
    },
  );

  app.post(
    '/v1/admin/grants',
    { preHandler: admin, schema: { body: creditRequest, response: { 200: creditResponse, ...errors } } },
    async (request) => {
      const account = await findAccount(server, request.body.accountId);
      const result = await creditAccount(server, 'grant', {
        accountId: account.id,
        creditsMilli: BigInt(request.body.creditsMilli),
        description: request.body.description ?? 'grant',
      });
      return { ...result, balanceMilli: Number(result.balanceMilli) };
    },
  );

  app.post(
    '/v1/admin/accounts',
    {
      preHandler: admin,
      schema: {
        body: z.strictObject({ name: z.string().min(1).max(100) }),
        response: { 200: accountSchema, ...errors, 409: errorResponseSchema },
      },
    },
    async (request) => createAccount(server, request.body.name),
  );

  app.get(
    '/v1/admin/accounts',
    { preHandler: admin, schema: { response: { 200: z.object({ accounts: z.array(accountSchema) }), ...errors } } },
    async () => ({ accounts: await listAccounts(server) }),
  );

  app.post(
    '/v1/admin/tokens',
    {
      preHandler: admin,
      schema: {
        description: 'Issue a token for a member (created on first use). The token is shown only in this answer.',
        body: z.strictObject({ accountId: z.string().min(1).max(200), member: z.string().min(1).max(100) }),
        response: {
          200: z.object({ token: z.string(), tokenId: z.string(), accountId: z.string(), memberId: z.string() }),
          ...errors,
        },
      },
    },
    async (request) => {
      const issued = await issueToken(server, request.body.accountId, request.body.member);
      return { token: issued.token, tokenId: issued.tokenId, accountId: issued.accountId, memberId: issued.memberId };
    },
  );

  app.delete(
    '/v1/admin/tokens/:tokenId',
    {
      preHandler: admin,
      schema: {
        params: z.object({ tokenId: z.string().max(200) }),
        response: { 200: z.object({ revoked: z.boolean() }), ...errors },
      },
    },
    async (request) => {
      await revokeToken(server, request.params.tokenId);
      return { revoked: true };
    },
  );

  return app;
}
