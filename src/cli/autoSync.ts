import type { Command } from 'commander';
import type { CommandContext } from './context.js';

/** Commands that call an LLM and so add ledger rows worth syncing. */
const METERED = new Set(['ask', 'plan', 'implement', 'verify']);

function topLevelName(cmd: Command): string {
  let top = cmd;
  while (top.parent?.parent) top = top.parent;
  return top.name();
}

/**
 * Opt-in `sync.auto`: after a metered command, push and pull once with a short timeout. It never
 * changes the command's outcome; a failure is one warning line and a back-off for the next try.
 */
export async function autoSyncAfter(cmd: Command, ctx: CommandContext): Promise<void> {
  if (!METERED.has(topLevelName(cmd))) return;
  try {
    // Loaded on use: the ledger (SQLite, kysely) would slow every command's start-up.
    const { autoSync, syncSettings } = await import('../core/ledger/syncSetup.js');
    const { openUserLedger } = await import('../core/ledger/userLedger.js');
    const settings = syncSettings();
    if (!settings.auto) return;
    const ledger = await openUserLedger(ctx.config());
    try {
      const outcome = await autoSync(ledger, settings);
      if (outcome.status === 'failed') ctx.out.warn(`auto-sync: ${outcome.message}`);
      else if (outcome.status === 'synced')
        ctx.out.debug(`auto-sync: pushed ${outcome.report.pushed}, pulled ${outcome.report.pulled}`);
      else ctx.out.debug(`auto-sync skipped: ${outcome.reason}`);
    } finally {
      ledger.close();
    }
  } catch (error) {
    ctx.out.warn(`auto-sync: ${(error as Error).message}`);
  }
}
