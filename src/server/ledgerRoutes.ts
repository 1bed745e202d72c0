import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  balanceResponseSchema,
  errorResponseSchema,
  pullQuerySchema,
  pullResponseSchema,
  pushRequestSchema,
  pushResponseSchema,
} from '../core/ledger/syncProtocol.js';
import { memberAuth, requireMember } from './auth.js';
import type { ServerDb } from './database.js';
import { balanceOf, pullTransactions, pushTransactions } from './teamLedger.js';

export const errorResponses = { 400: errorResponseSchema, 401: errorResponseSchema, 404: errorResponseSchema };

/** What a member token can do: push usage, pull the account's rows, read the balance. */
export function registerLedgerRoutes(app: FastifyInstance, server: ServerDb): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const preHandler = memberAuth(server);
  const errors = errorResponses;
  routes.post(
    '/v1/transactions',
    {
      preHandler,
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

  routes.get(
    '/v1/transactions',
    {
      preHandler,
      schema: {
        description: "The account's transactions after a cursor, oldest first.",
        querystring: pullQuerySchema,
        response: { 200: pullResponseSchema, ...errors },
      },
    },
    async (request) =>
      pullTransactions(server, requireMember(request).accountId, request.query.after, request.query.limit ?? 500),
  );

  routes.get(
    '/v1/balance',
    { preHandler, schema: { response: { 200: balanceResponseSchema, ...errors } } },
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
}
