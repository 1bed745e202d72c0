/**
 * Secret-scan benchmark (`npm run bench:secrets`): what masking credentials costs the index, per
 * MiB of this repository's own TypeScript and of English prose, and per small file. The baseline,
 * measured in the same run on the same text, is the index's other per-file work before embedding:
 * hashing the text and splitting it into chunks with a cheap whitespace tokenizer.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkFile, hashText } from '../../src/core/index/chunk.js';
import { scanSecrets } from '../../src/core/secrets/secretScanner.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function sourceText(bytes: number): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (file.endsWith('.ts')) files.push(file);
    }
  };
  walk(path.join(root, 'src'));
  let text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  while (text.length < bytes) text += text;
  return text.slice(0, bytes);
}

async function medianMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const wordTokens = (line: string) =>
  line
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.length);
const baseline = (text: string) => {
  hashText(text);
  return chunkFile(text, wordTokens, { budget: 200 });
};

const MiB = 1 << 20;
const samples = {
  'TypeScript, 1 MiB': sourceText(MiB),
  'prose, 1 MiB': 'The release train leaves every second Tuesday; reviewers check the calendar first. '
    .repeat(13000)
    .slice(0, MiB),
};
for (const [name, text] of Object.entries(samples)) {
  const scan = await medianMs(() => scanSecrets(text, 'bench.ts'));
  const base = await medianMs(() => baseline(text));
  console.log(
    `${name}: scan ${scan.toFixed(1)} ms, hash+chunk ${base.toFixed(1)} ms, ratio ${(scan / base).toFixed(2)}x`,
  );
}
const small = sourceText(2048);
const files = 500;
const scanSmall = await medianMs(async () => {
  for (let i = 0; i < files; i++) await scanSecrets(small, 'small.ts');
});
const baseSmall = await medianMs(() => {
  for (let i = 0; i < files; i++) baseline(small);
});
console.log(
  `${files} files of 2 KiB: scan ${(scanSmall / files).toFixed(2)} ms/file, hash+chunk ${(baseSmall / files).toFixed(3)} ms/file, ratio ${(scanSmall / baseSmall).toFixed(1)}x`,
);
