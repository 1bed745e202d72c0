import type { Config } from '../config.js';
import { userDataDir } from '../workspace.js';
import { Ledger } from './ledger.js';
import { creditsToMilli } from './money.js';

/** The user's ledger at $AI_DEV_BOT_HOME/ledger.db (default $XDG_DATA_HOME/ai-dev-bot/ledger.db). */
export function openUserLedger(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<Ledger> {
  return Ledger.open({
    file: Ledger.fileIn(userDataDir(env)),
    initialGrantMilli: creditsToMilli(config.ledger.initialGrant),
  });
}
