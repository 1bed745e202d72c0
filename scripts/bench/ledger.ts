/**
 * Ledger benchmark (`npm run bench:ledger`). Prints, in one run:
 *  - deductions per second in one process (Meter.recordExternalUsage: usage row + deduction, one
 *    BEGIN IMMEDIATE transaction each),
 *  - deductions per second across 4 processes writing the same ledger at once, and a check that
 *    every one of them was recorded,
 *  - metering overhead per LLM call: a bare provider call to the loopback fake server vs the same
 *    call through Meter.call (estimate with the tokenizer, hold, call, record), same run.
 * Run as a worker: node dist/bench/ledger.js --worker <ledger-file> <count>
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../src/core/ledger/ledger.js';
import { Meter } from '../../src/core/llm/meter.js';
import { OpenAiCompatibleProvider } from '../../src/core/llm/openaiCompatible.js';
import { loadTokenCounter } from '../../src/core/llm/tokenCount.js';
import type { LlmRequest } from '../../src/core/llm/types.js';
import { silentReporter } from '../../src/core/reporter.js';
import { FakeOpenAiServer } from '../../test/fakes/llmServers.js';

const SINGLE = Number(process.env.BENCH_DEDUCTIONS ?? 5000);
const PER_WORKER = Number(process.env.BENCH_WORKER_DEDUCTIONS ?? 2500);
const WORKERS = 4;
const CALLS = Number(process.env.BENCH_CALLS ?? 300);
const settings = { creditValueUsd: 0.01, markup: 1.5, fallbackPrice: { input: 5, output: 20 } };

function meterFor(ledger: Ledger): Meter {
  return new Meter({
    ledger,
    settings,
    retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 },
    reporter: silentReporter,
  });
}

async function deductLoop(file: string, count: number): Promise<{ start: number; end: number }> {
  const ledger = await Ledger.open({ file, initialGrantMilli: 500_000n });
  const meter = meterFor(ledger);
  const start = performance.timeOrigin + performance.now();
  for (let i = 0; i < count; i++) {
    meter.recordExternalUsage({
      provider: 'openai',
      model: 'gpt-4o-mini',
      task: 'bench',
      inputTokens: 1000,
      outputTokens: 100,
      costUsd: 0.0002,
    });
  }
  const end = performance.timeOrigin + performance.now();
  ledger.close();
  return { start, end };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-bench-ledger-'));
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`ledger benchmark (better-sqlite3 WAL, synchronous=NORMAL; ${os.cpus().length} cores, Node ${process.version})`);

  // 1. One process.
  const single = path.join(dir, 'single.db');
  await deductLoop(single, 200); // warm-up: file creation, migrations, JIT
  const one = await deductLoop(single, SINGLE);
  const perSecOne = SINGLE / ((one.end - one.start) / 1000);
  log(
    `1 process:   ${SINGLE} deductions in ${((one.end - one.start) / 1000).toFixed(2)} s = ${Math.round(perSecOne)} deductions/s`,
  );

  // 2. Four processes on one file, started together.
  const shared = path.join(dir, 'shared.db');
  (await Ledger.open({ file: shared, initialGrantMilli: 500_000n })).close();
  const self = fileURLToPath(import.meta.url);
  const results = await Promise.all(
    Array.from(
      { length: WORKERS },
      () =>
        new Promise<{ start: number; end: number }>((resolve, reject) => {
          const child = spawn(process.execPath, [self, '--worker', shared, String(PER_WORKER)], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.on('close', (code) =>
            code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker exited ${code}`)),
          );
        }),
    ),
  );
  const wall = (Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start))) / 1000;
  const check = await Ledger.open({ file: shared, initialGrantMilli: 500_000n });
  const recorded = check.transactionCount('usage_deduction');
  const problems = check.integrityProblems();
  check.close();
  const total = WORKERS * PER_WORKER;
  log(
    `${WORKERS} processes: ${total} deductions in ${wall.toFixed(2)} s = ${Math.round(total / wall)} deductions/s ` +
      `(recorded ${recorded}/${total}${problems.length ? `; PROBLEMS: ${problems.join('; ')}` : ', ledger consistent'})`,
  );

  // 3. Metering overhead per call against the loopback fake server.
  const server = await FakeOpenAiServer.start({
    fallback: { text: 'The retry delay is computed in src/http/retry.ts:1-14.', inputTokens: 1800, outputTokens: 40 },
  });
  const provider = new OpenAiCompatibleProvider({
    provider: 'openai',
    baseUrl: server.url,
    model: 'gpt-4o-mini',
    timeoutMs: 10_000,
    keyEnvVar: 'OPENAI_API_KEY',
  });
  const context = Array.from(
    { length: 8 },
    (_, i) => `[${i + 1}] src/file${i}.ts:1-40\n${'const value = compute(input, options);\n'.repeat(40)}`,
  ).join('\n\n');
  const request: LlmRequest = {
    system: 'Answer from the excerpts.',
    messages: [{ role: 'user', content: `${context}\n\nQuestion: where?` }],
    maxOutputTokens: 2048,
  };
  const tokenizerStart = performance.now();
  await loadTokenCounter();
  const tokenizerLoad = performance.now() - tokenizerStart;
  const ledger = await Ledger.open({ file: path.join(dir, 'meter.db'), initialGrantMilli: 10_000_000n });
  const meter = meterFor(ledger);
  for (let i = 0; i < 20; i++) {
    await provider.complete(request);
    await meter.call(provider, request, { task: 'bench' });
  }
  const bare: number[] = [];
  const metered: number[] = [];
  // Interleaved so both see the same machine state.
  for (let i = 0; i < CALLS; i++) {
    let t = performance.now();
    await provider.complete(request);
    bare.push(performance.now() - t);
    t = performance.now();
    await meter.call(provider, request, { task: 'bench' });
    metered.push(performance.now() - t);
  }
  const estimates: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await meter.estimate(provider, request);
    estimates.push(performance.now() - t);
  }
  await server.close();
  ledger.close();
  const overhead = mean(metered) - mean(bare);
  log(
    `metering:    bare call ${mean(bare).toFixed(2)} ms (p50 ${percentile(bare, 50).toFixed(2)}), ` +
      `metered call ${mean(metered).toFixed(2)} ms (p50 ${percentile(metered, 50).toFixed(2)}) ` +
      `→ overhead ${overhead.toFixed(2)} ms/call (p50 ${(percentile(metered, 50) - percentile(bare, 50)).toFixed(2)}) over ${CALLS} calls; ` +
      `of which the estimate (tokenizing ≈ ${request.messages[0]!.content.length} chars) ${mean(estimates).toFixed(2)} ms; ` +
      `tokenizer load once: ${tokenizerLoad.toFixed(0)} ms`,
  );
  rmSync(dir, { recursive: true, force: true });
}

if (process.argv[2] === '--worker') {
  const result = await deductLoop(process.argv[3]!, Number(process.argv[4]));
  process.stdout.write(JSON.stringify(result));
} else {
  await main();
}
