import type { FastifyRequest } from 'fastify';
import { authenticate, type AuthenticatedMember } from './accounts.js';
import { ApiError } from './apiError.js';
import type { ServerDb } from './database.js';
import { bearerToken, secretsEqual } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    member?: AuthenticatedMember;
  }
}

/** preHandler for member routes: the bearer token's member, or 401. */
export function memberAuth(server: ServerDb) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    const member = token ? await authenticate(server, token) : undefined;
    if (!member) throw new ApiError(401, 'unauthorized', 'Missing, unknown or revoked bearer token.');
    request.member = member;
  };
}

/** preHandler for admin routes: the admin token (constant-time compare), or 401; none configured → always 401. */
export function adminAuth(adminToken: string | undefined) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    if (!adminToken || !token || !secretsEqual(token, adminToken))
      throw new ApiError(401, 'unauthorized', 'This route needs the admin token.');
  };
}

export function requireMember(request: FastifyRequest): AuthenticatedMember {
  if (!request.member) throw new ApiError(401, 'unauthorized', 'Missing or invalid bearer token.');
  return request.member;
}
