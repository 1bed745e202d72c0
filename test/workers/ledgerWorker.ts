/**
 * A separate OS process that hammers the ledger, for the concurrency and crash tests and the
 * benchmark. Bundled with esbuild by test/workers/bundle.ts; run as:
 *   node ledgerWorker.mjs <ledger-file> <count|forever> <costUsd>
 *   node ledgerWorker.mjs <ledger-file> hold <milli-credits>
 * Prints one line per recorded deduction ("n") so the parent can kill it mid-loop.
 */
import { Ledger } from '../../src/core/ledger/ledger.js';
import { Meter } from '../../src/core/llm/meter.js';
import { silentReporter } from '../../src/core/reporter.js';

const [file, countArg, costArg] = process.argv.slice(2);

if (countArg === 'hold') {
  // node ledgerWorker.mjs <file> hold <milli>: try one hold, say whether it was granted, and keep
  // it (stay alive) until the parent closes stdin.
  const ledger = await Ledger.open({ file: file!, initialGrantMilli: 500_000n });
  const result = ledger.tryHold(BigInt(costArg!), 600_000);
  process.stdout.write(result.ok ? 'held\n' : 'refused\n');
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
  ledger.close();
  process.exit(0);
}
const count = countArg === 'forever' ? Number.POSITIVE_INFINITY : Number(countArg);
const costUsd = Number(costArg ?? '0.001');

const ledger = await Ledger.open({ file: file!, initialGrantMilli: 500_000n });
const meter = new Meter({
  ledger,
  settings: { creditValueUsd: 0.01, markup: 1.5, fallbackPrice: { input: 5, output: 20 } },
  retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 },
  reporter: silentReporter,
  project: `worker-${process.pid}`,
});
for (let i = 1; i <= count; i++) {
  meter.recordExternalUsage({
    provider: 'openai',
    model: 'gpt-4o-mini',
    task: 'stress',
    inputTokens: 100,
    outputTokens: 10,
    costUsd,
  });
  if (countArg === 'forever') process.stdout.write(`${i}\n`);
}
ledger.close();
process.stdout.write('done\n');
