import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { creditsToMilli, formatCredits } from '../core/ledger/money.js';
import { createAccount, findAccount, issueToken, listAccounts, revokeToken } from './accounts.js';
import { ApiError } from './apiError.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from './app.js';
import { loadDashboardAssets } from './dashboard/assets.js';
import { migrateServerDb, openServerDb, type ServerDb } from './database.js';
import type { MemberRole } from './schema.js';
import { creditAccount } from './teamLedger.js';

const ADMIN_TOKEN_ENV = 'AI_DEV_BOT_SERVER_ADMIN_TOKEN';
const DB_ENV = 'AI_DEV_BOT_SERVER_DB';
const MIN_ADMIN_TOKEN = 32;

interface DbOptions {
  db: string;
  json?: boolean;
}

function integerOption(name: string, min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`);
    return n;
  };
}

/** Opens the database, migrated, runs `fn`, closes it. */
async function withDb<T>(options: DbOptions, fn: (server: ServerDb) => Promise<T>): Promise<T> {
  const server = openServerDb(options.db);
  try {
    await migrateServerDb(server);
    return await fn(server);
  } finally {
    await server.close();
  }
}

function print(options: DbOptions, json: unknown, human: string): void {
  process.stdout.write(`${options.json ? JSON.stringify(json) : human}\n`);
}

async function serve(options: DbOptions & { port: number; host: string; migrate: boolean } & Record<string, unknown>) {
  const adminToken = process.env[ADMIN_TOKEN_ENV];
  if (adminToken !== undefined && adminToken.length < MIN_ADMIN_TOKEN)
    throw new ApiError(400, 'weak_admin_token', `${ADMIN_TOKEN_ENV} must be at least ${MIN_ADMIN_TOKEN} characters.`);
  // scripts/build.mjs writes the dashboard's browser bundle beside this file (dist/dashboard/).
  const dashboardAssets = loadDashboardAssets(path.join(path.dirname(fileURLToPath(import.meta.url)), 'dashboard'));
  const server = openServerDb(options.db);
  if (options.migrate) await migrateServerDb(server);
  const app = await buildApp({
    server,
    adminToken,
    dashboardAssets,
    bodyLimit: options.bodyLimit as number,
    rateLimitPerMinute: options.rateLimit as number,
    logLevel: options.logLevel as string,
  });
  const stop = async () => {
    await app.close();
    await server.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  const address = await app.listen({ port: options.port, host: options.host });
  // One plain line that scripts (and the tests) can wait for.
  process.stdout.write(`ai-dev-bot-server listening on ${address} (${server.dialect} ${server.label})\n`);
}

export function buildServerProgram(): Command {
  const program = new Command('ai-dev-bot-server')
    .description('Team ledger server for ai-dev-bot: accounts, members, tokens, grants, synced usage.')
    .exitOverride()
    .addHelpText(
      'after',
      `
--db is a SQLite file path (default ./server.db, one instance) or a postgres:// URL (several
instances may serve one PostgreSQL). Env: ${DB_ENV} (instead of --db), ${ADMIN_TOKEN_ENV}
(at least ${MIN_ADMIN_TOKEN} characters; enables the admin HTTP routes).

\`serve\` also serves the team dashboard at / (sign in with a member token). A member issued with
--role admin is an account admin there and sees every member's lines; a plain member sees the
account's totals and their own lines. The session cookie is Secure: serve it behind HTTPS.

Examples:
  $ ai-dev-bot-server migrate --db postgres://ledger@db/ledger
  $ ai-dev-bot-server account create acme
  $ ai-dev-bot-server token issue --account acme --member alice
  $ ai-dev-bot-server token issue --account acme --member lead --role admin
  $ ai-dev-bot-server grant --account acme 1000
  $ ai-dev-bot-server serve --port 8080`,
    );
  registerServe(program);
  registerAdminCommands(program);
  return program;
}

const dbOption = (cmd: Command) =>
  cmd
    .option('--db <sqlite-path|postgres-url>', 'the ledger database', process.env[DB_ENV] ?? './server.db')
    .option('--json', 'print one JSON object');

function registerServe(program: Command): void {
  dbOption(program.command('serve').description('serve the HTTP API and the team dashboard (at /)'))
    .option('--port <n>', 'port (0 picks a free one)', integerOption('--port', 0, 65535), 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--no-migrate', 'do not apply pending migrations at start (run `migrate` instead)')
    .option('--body-limit <bytes>', 'largest request body', integerOption('--body-limit', 1024, 64 << 20), 1 << 20)
    .option('--rate-limit <n>', 'requests per token per minute', integerOption('--rate-limit', 1, 1_000_000), 600)
    .option('--log-level <level>', 'fatal|error|warn|info|debug', 'info')
    .action(serve);
  dbOption(program.command('migrate').description('create or upgrade the database schema')).action(
    async (options: DbOptions) => {
      const applied = await withDb(options, (server) => migrateServerDb(server));
      print(options, { applied }, applied.length ? `Applied ${applied.join(', ')}` : 'Schema up to date.');
    },
  );
}

/** Accounts, tokens and grants, straight on the database (no server needed). */
function registerAdminCommands(program: Command): void {
  const account = program.command('account').description('team accounts');
  dbOption(account.command('create').argument('<name>').description('create an account')).action(
    async (name: string, options: DbOptions) => {
      const created = await withDb(options, (server) => createAccount(server, name));
      print(options, created, `Created account ${created.name} (${created.id})`);
    },
  );
  dbOption(account.command('list').description('list accounts')).action(async (options: DbOptions) => {
    const accounts = await withDb(options, (server) => listAccounts(server));
    print(
      options,
      { accounts },
      accounts.map((a) => `${a.id}  ${a.name}  ${a.createdAt}`).join('\n') || 'No accounts.',
    );
  });

  const token = program.command('token').description('API tokens, one per member (developer or CI pipeline)');
  dbOption(token.command('issue').description('issue a token; it is shown once'))
    .requiredOption('--account <id|name>', 'the account')
    .requiredOption('--member <name>', 'who uses it, e.g. alice or ci')
    .addOption(
      new Option(
        '--role <role>',
        "the member's dashboard role: admin sees every member's lines (default for a new member: member)",
      ).choices(['admin', 'member']),
    )
    .action(async (options: DbOptions & { account: string; member: string; role?: MemberRole }) => {
      const issued = await withDb(options, (server) =>
        issueToken(server, options.account, options.member, { role: options.role }),
      );
      print(
        options,
        issued,
        `Token for ${issued.memberName} (${issued.role}, id ${issued.tokenId}); shown only now:\n${issued.token}\n` +
          'Give it to the client as AI_DEV_BOT_SYNC_TOKEN, or use it to log in to the dashboard.',
      );
    });
  dbOption(token.command('revoke').argument('<token-id>').description('revoke a token')).action(
    async (tokenId: string, options: DbOptions) => {
      await withDb(options, (server) => revokeToken(server, tokenId));
      print(options, { revoked: tokenId }, `Revoked ${tokenId}`);
    },
  );

  dbOption(program.command('grant').argument('<credits>').description('grant credits to an account'))
    .requiredOption('--account <id|name>', 'the account')
    .option('--reason <text>', 'description stored with the grant', 'grant')
    .action(async (amount: string, options: DbOptions & { account: string; reason: string }) => {
      const credits = Number(amount);
      if (!Number.isFinite(credits) || credits <= 0)
        throw new ApiError(400, 'bad_amount', `credits must be a positive number, got "${amount}".`);
      const result = await withDb(options, async (server) => {
        const target = await findAccount(server, options.account);
        return creditAccount(server, 'grant', {
          accountId: target.id,
          creditsMilli: creditsToMilli(credits),
          description: options.reason,
        });
      });
      print(
        options,
        { transactionId: result.transactionId, balanceMilli: Number(result.balanceMilli) },
        `Granted ${amount} credits. Balance: ${formatCredits(result.balanceMilli)} credits.`,
      );
    });
}

export async function main(argv: string[]): Promise<void> {
  // `ai-dev-bot-server --help | head` closes stdout early: the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    await buildServerProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    // Bad input (unknown account, weak admin token) is a usage error; anything else internal.
    const usage = error instanceof ApiError && error.statusCode < 500;
    process.stderr.write(`ai-dev-bot-server: ${(error as Error).message}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}

await main(process.argv);
