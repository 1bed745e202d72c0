import Database from 'better-sqlite3';
import path from 'node:path';
import { Ledger } from '../../src/core/ledger/ledger.js';
import { cliEnv, runCli, runCliAsync, type CliResult } from './cli.js';
import { writeUserConfig } from './aider.js';

/** A client home whose user config points at `url`, with its own token. */
export function syncClientEnv(url: string, token: string, sync: object = {}): NodeJS.ProcessEnv {
  const env = cliEnv({ AI_DEV_BOT_SYNC_TOKEN: token });
  writeUserConfig(env, { sync: { url, ...sync } });
  return env;
}

/** Records `amounts.length` LLM calls in the client's real ledger, as the meter would. */
export async function spend(env: NodeJS.ProcessEnv, amounts: number[], task = 'ask'): Promise<number> {
  const ledger = await Ledger.open({ file: Ledger.fileIn(env.AI_DEV_BOT_HOME!), initialGrantMilli: 500_000n });
  try {
    for (const milli of amounts) {
      ledger.recordUsage({
        project: 'demo-repo',
        provider: 'gemini',
        model: 'gemini-2.5-flash',
        task,
        inputTokens: 1000,
        outputTokens: 200,
        costNano: BigInt(milli) * 6_667n,
        costSource: 'table',
        tokensEstimated: false,
        latencyMs: 120,
        status: 'ok',
        creditsMilli: BigInt(milli),
        description: `${task}: call`,
      });
    }
  } finally {
    ledger.close();
  }
  return amounts.reduce((a, b) => a + b, 0);
}

export const cli = (args: string[], env: NodeJS.ProcessEnv): CliResult =>
  runCli([...args, '--json'], { cwd: env.AI_DEV_BOT_HOME!, env, timeoutMs: 120_000 });

export const cliAsync = (args: string[], env: NodeJS.ProcessEnv) =>
  runCliAsync([...args, '--json'], { cwd: env.AI_DEV_BOT_HOME!, env });

/** Milli-credits in a client's ledger, read straight from its SQLite file. */
export function localBalanceMilli(env: NodeJS.ProcessEnv): number {
  const db = new Database(path.join(env.AI_DEV_BOT_HOME!, 'ledger.db'), { readonly: true });
  try {
    return (db.prepare('SELECT coalesce(sum(credits), 0) AS b FROM credit_transactions').get() as { b: number }).b;
  } finally {
    db.close();
  }
}
