import { usageError } from '../../core/errors.js';
import { openUserLedger } from '../../core/ledger/userLedger.js';
import { projectStatus } from '../../core/projectStatus.js';
import type { CommandContext } from '../context.js';
import { statusText } from '../statusText.js';

export async function runStatus(ctx: CommandContext, opts: { watch?: boolean }): Promise<void> {
  const ws = ctx.workspace();
  const config = ctx.config();
  if (opts.watch && !ctx.out.interactive)
    throw usageError(
      'status --watch needs an interactive terminal (and no --json, --quiet or CI=true).',
      'In scripts, poll `ai-dev-bot status --json` instead.',
    );
  const ledger = await openUserLedger(config);
  try {
    if (opts.watch) {
      // ink only for this long-running view: the one-shot summary stays fast to start.
      const { watchStatus } = await import('../views/StatusWatchView.js');
      await watchStatus(ws, config, ledger);
      return;
    }
    const status = await projectStatus(ws, config, ledger);
    ctx.out.result(status, () => statusText(status, ctx.out.paint));
  } finally {
    ledger.close();
  }
}
