import { randomUUID, timingSafeEqual } from 'node:crypto';
import { ApiError, notFound } from './apiError.js';
import type { ServerDb } from './database.js';
import type { MemberRole } from './schema.js';
import { hashToken, newToken } from './tokens.js';

export interface Account {
  id: string;
  name: string;
  createdAt: string;
}

/** Who a request acts as: one member of one account. */
export interface AuthenticatedMember {
  accountId: string;
  accountName: string;
  memberId: string;
  memberName: string;
  role: MemberRole;
  tokenId: string;
}

export interface IssuedToken {
  /** Shown once; only its hash is stored. */
  token: string;
  tokenId: string;
  accountId: string;
  memberId: string;
  memberName: string;
  role: MemberRole;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

function checkName(kind: string, name: string): void {
  if (!NAME.test(name))
    throw new ApiError(
      400,
      'bad_name',
      `${kind} name "${name.slice(0, 120)}" is not allowed: use 1-100 letters, digits, ".", "_", "@" or "-".`,
    );
}

export async function createAccount(server: ServerDb, name: string, now = new Date()): Promise<Account> {
  checkName('Account', name);
  const account = { id: randomUUID(), name, createdAt: now.toISOString() };
  const inserted = await server.db
    .insertInto('accounts')
    .values({ id: account.id, name, created_at: account.createdAt })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) throw new ApiError(409, 'account_exists', `An account named "${name}" already exists.`);
  return account;
}

export async function listAccounts(server: ServerDb): Promise<Account[]> {
  const rows = await server.db.selectFrom('accounts').selectAll().orderBy('created_at').orderBy('name').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
}

/** By id or by name, so the admin CLI can say `--account acme`. */
export async function findAccount(server: ServerDb, idOrName: string): Promise<Account> {
  const row = await server.db
    .selectFrom('accounts')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .executeTakeFirst();
  if (!row) throw notFound(`Account "${idOrName.slice(0, 120)}"`);
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

/** The member's id and role, creating the member on first use; `role` given → set (promote or demote). */
async function upsertMember(
  server: ServerDb,
  accountId: string,
  name: string,
  role: MemberRole | undefined,
  now: Date,
): Promise<{ id: string; role: MemberRole }> {
  checkName('Member', name);
  await server.db
    .insertInto('members')
    .values({ id: randomUUID(), account_id: accountId, name, created_at: now.toISOString(), role })
    .onConflict((oc) => {
      const member = oc.columns(['account_id', 'name']);
      return role ? member.doUpdateSet({ role }) : member.doNothing();
    })
    .execute();
  return server.db
    .selectFrom('members')
    .select(['id', 'role'])
    .where('account_id', '=', accountId)
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
}

/**
 * Issues a token for a member of an account, creating the member on first use. `role` sets the
 * member's dashboard role; omitted, a new member is a plain member and an existing one keeps theirs.
 */
export async function issueToken(
  server: ServerDb,
  accountIdOrName: string,
  memberName: string,
  options: { role?: MemberRole | undefined; now?: Date } = {},
): Promise<IssuedToken> {
  const now = options.now ?? new Date();
  const account = await findAccount(server, accountIdOrName);
  const { id: member, role } = await upsertMember(server, account.id, memberName, options.role, now);
  const token = newToken();
  const tokenId = randomUUID();
  await server.db
    .insertInto('api_tokens')
    .values({
      id: tokenId,
      account_id: account.id,
      member_id: member,
      token_hash: hashToken(token),
      created_at: now.toISOString(),
      revoked_at: null,
    })
    .execute();
  return { token, tokenId, accountId: account.id, memberId: member, memberName, role };
}

export async function revokeToken(server: ServerDb, tokenId: string, now = new Date()): Promise<void> {
  const result = await server.db
    .updateTable('api_tokens')
    .set({ revoked_at: now.toISOString() })
    .where('id', '=', tokenId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) {
    const exists = await server.db.selectFrom('api_tokens').select('id').where('id', '=', tokenId).executeTakeFirst();
    if (!exists) throw notFound(`Token "${tokenId.slice(0, 120)}"`);
  }
}

/**
 * The member a bearer token belongs to, or undefined for an unknown or revoked token. The lookup is
 * by hash (an index seek that reveals nothing about the token); the stored hash is then compared
 * in constant time.
 */
export async function authenticate(server: ServerDb, token: string): Promise<AuthenticatedMember | undefined> {
  const hash = hashToken(token);
  const row = await server.db
    .selectFrom('api_tokens as t')
    .innerJoin('members as m', 'm.id', 't.member_id')
    .innerJoin('accounts as a', 'a.id', 't.account_id')
    .select(['t.id as tokenId', 't.token_hash', 't.revoked_at', 'a.id as accountId', 'a.name as accountName'])
    .select(['m.id as memberId', 'm.name as memberName', 'm.role'])
    .where('t.token_hash', '=', hash)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null) return undefined;
  if (!timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
  return {
    accountId: row.accountId,
    accountName: row.accountName,
    memberId: row.memberId,
    memberName: row.memberName,
    role: row.role,
    tokenId: row.tokenId,
  };
}
