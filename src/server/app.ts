import fastifyRateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { registerAdminRoutes } from './adminRoutes.js';
import { ApiError } from './apiError.js';
import type { DashboardAssets } from './dashboard/assets.js';
import { dashboardRoutes } from './dashboard/dashboardRoutes.js';
import { pingServerDb, type ServerDb } from './database.js';
import { registerLedgerRoutes } from './ledgerRoutes.js';
import { bearerToken, hashToken } from './tokens.js';

export interface AppOptions {
  server: ServerDb;
  /** Manages accounts, tokens, grants and purchases; admin routes answer 401 without one. */
  adminToken?: string | undefined;
  /** Largest request body in bytes (413 above it). */
  bodyLimit?: number;
  /** Requests per token (or per address, unauthenticated) per minute, per instance (429 above it). */
  rateLimitPerMinute?: number;
  logLevel?: string;
  /** The dashboard's bundled script and stylesheet; without them the server has no dashboard. */
  dashboardAssets?: DashboardAssets | undefined;
}

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

/** Per token (hashed, never kept in clear) so a team behind one NAT does not share a limit. */
function rateLimitOptions(perMinute: number): RateLimitPluginOptions {
  return {
    max: perMinute,
    timeWindow: 60_000,
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
  };
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
  await app.register(fastifyRateLimit, rateLimitOptions(options.rateLimitPerMinute ?? 600));
  app.decorateRequest('member', undefined);

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

  registerLedgerRoutes(app, server);
  registerAdminRoutes(app, server, options.adminToken);
  if (options.dashboardAssets) await app.register(dashboardRoutes, { server, assets: options.dashboardAssets });
  return app;
}
