import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_MONEY, errorResponseSchema } from '../core/ledger/syncProtocol.js';
import { createAccount, findAccount, issueToken, listAccounts, revokeToken } from './accounts.js';
import { adminAuth } from './auth.js';
import type { ServerDb } from './database.js';
import { errorResponses as errors } from './ledgerRoutes.js';
import { creditAccount } from './teamLedger.js';

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

/** Admin token routes: purchases (also for a payment webhook), grants, accounts, tokens. */
export function registerAdminRoutes(app: FastifyInstance, server: ServerDb, adminToken: string | undefined): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const admin = adminAuth(adminToken);
  routes.post(
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

  routes.post(
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

  routes.post(
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

  routes.get(
    '/v1/admin/accounts',
    { preHandler: admin, schema: { response: { 200: z.object({ accounts: z.array(accountSchema) }), ...errors } } },
    async () => ({ accounts: await listAccounts(server) }),
  );

  routes.post(
    '/v1/admin/tokens',
    {
      preHandler: admin,
      schema: {
        description:
          'Issue a token for a member (created on first use; `role` admin sees every member on the dashboard). The token is shown only in this answer.',
        body: z.strictObject({
          accountId: z.string().min(1).max(200),
          member: z.string().min(1).max(100),
          role: z.enum(['admin', 'member']).optional(),
        }),
        response: {
          200: z.object({ token: z.string(), tokenId: z.string(), accountId: z.string(), memberId: z.string() }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { accountId, member, role } = request.body;
      const issued = await issueToken(server, accountId, member, { role });
      return { token: issued.token, tokenId: issued.tokenId, accountId: issued.accountId, memberId: issued.memberId };
    },
  );

  routes.delete(
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
}
