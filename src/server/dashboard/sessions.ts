import { randomBytes } from 'node:crypto';
import { authenticate, type AuthenticatedMember } from '../accounts.js';
import type { ServerDb } from '../database.js';
import { hashToken } from '../tokens.js';

/** A dashboard login lasts a working day; then the member logs in again with their token. */
export const SESSION_HOURS = 8;

/** Logs in with a member token: a new session id (shown to the browser only), or undefined. */
export async function startSession(
  server: ServerDb,
  token: string,
  now = new Date(),
): Promise<{ sessionId: string; member: AuthenticatedMember } | undefined> {
  const member = await authenticate(server, token);
  if (!member) return undefined;
  const sessionId = randomBytes(32).toString('base64url');
  await server.db
    .insertInto('dashboard_sessions')
    .values({
      id_hash: hashToken(sessionId),
      token_id: member.tokenId,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + SESSION_HOURS * 3_600_000).toISOString(),
    })
    .execute();
  // Expired sessions are of no use to anyone: drop them while we are writing anyway.
  await server.db.deleteFrom('dashboard_sessions').where('expires_at', '<', now.toISOString()).execute();
  return { sessionId, member };
}

/** The member of a live session: unknown, expired, or its token revoked → undefined. */
export async function sessionMember(
  server: ServerDb,
  sessionId: string,
  now = new Date(),
): Promise<AuthenticatedMember | undefined> {
  const row = await server.db
    .selectFrom('dashboard_sessions as s')
    .innerJoin('api_tokens as t', 't.id', 's.token_id')
    .innerJoin('members as m', 'm.id', 't.member_id')
    .innerJoin('accounts as a', 'a.id', 't.account_id')
    .select(['t.id as tokenId', 'a.id as accountId', 'a.name as accountName'])
    .select(['m.id as memberId', 'm.name as memberName', 'm.role'])
    .where('s.id_hash', '=', hashToken(sessionId))
    .where('s.expires_at', '>', now.toISOString())
    .where('t.revoked_at', 'is', null)
    .executeTakeFirst();
  return row;
}

export async function endSession(server: ServerDb, sessionId: string): Promise<void> {
  await server.db.deleteFrom('dashboard_sessions').where('id_hash', '=', hashToken(sessionId)).execute();
}
