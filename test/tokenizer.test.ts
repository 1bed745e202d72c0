import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { locateModel } from '../src/core/index/model/locateModel.js';
import { loadTextTokenizer, loadTokenizer } from '../src/core/index/model/tokenizer.js';

const projectRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** The library's tokenizer exactly as tokenizer.json describes it, nothing remembered. */
function libraryTokenizer(): Tokenizer {
  const files = locateModel({ precision: 'int8' });
  return new Tokenizer(
    JSON.parse(readFileSync(files.tokenizerPath, 'utf8')) as object,
    JSON.parse(readFileSync(files.tokenizerConfigPath, 'utf8')) as object,
  );
}

function sourceLines(): string[] {
  const dir = path.join(projectRoot, 'src', 'core', 'index');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) => readFileSync(path.join(dir, name), 'utf8').split('\n'));
}

describe('the tokenizer the index runs', () => {
  it('gives the library’s ids for real code, twice over (the second time from remembered words)', async () => {
    const reference = libraryTokenizer();
    const ours = await loadTokenizer(locateModel({ precision: 'int8' }));
    const lines = sourceLines();
    expect(lines.length).toBeGreaterThan(2000);
    for (let pass = 0; pass < 2; pass++)
      for (const line of lines)
        expect(ours.encode(line, { add_special_tokens: false }).ids).toEqual(
          reference.encode(line, { add_special_tokens: false }).ids,
        );
  });

  it('gives the library’s ids for accents, CJK, emoji, tabs, control characters and over-long words', async () => {
    const reference = libraryTokenizer();
    const text = await loadTextTokenizer(locateModel({ precision: 'int8' }));
    const samples = [
      'Café naïve résumé — ÉCOLE',
      '日本語のテキスト and 中文 mixed',
      'emoji 🚀🔥 in a string',
      'tab\tand\u0000nul\u0007bell',
      'Tabs\tBetween\tUPPER_CASE words  and\u00a0nbsp',
      'del\u007fchar\r\nCRLF',
      'x'.repeat(150) + ' short',
      'unknownzzzqqqxxyy unknownzzzqqqxxyy',
      '',
    ];
    for (let pass = 0; pass < 2; pass++)
      for (const sample of samples)
        expect(text.tokenize(sample)).toEqual(reference.encode(sample, { add_special_tokens: false }).ids);
  });
});
