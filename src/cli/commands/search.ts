import { Option, type Command } from 'commander';
import type { SearchMode } from '../../core/index/search.js';
import type { CommandRunner } from '../context.js';
import { integerFlag } from '../flagParsers.js';

export function registerSearch(program: Command, run: CommandRunner): void {
  program
    .command('search')
    .description('search the index: semantic (vectors) and keyword (BM25), fused by reciprocal rank')
    .argument('<query...>', 'what you are looking for, in plain words or identifiers')
    .addOption(
      new Option('-k <n>', 'number of results (1-100, default: config search.k = 8)').argParser(
        integerFlag('-k', 1, 100),
      ),
    )
    .addOption(new Option('--mode <mode>', 'ranking to use').choices(['hybrid', 'vector', 'keyword']))
    .option('--explain', "show each result's vector rank, keyword rank and fused score (also in --json)")
    .addHelpText(
      'after',
      `
Examples:
  $ ai-dev-bot search "where is the retry delay computed"
  $ ai-dev-bot search parseConfig --mode keyword -k 3
  $ ai-dev-bot search "session cookie signing" --explain
  $ ai-dev-bot search "database migrations" --json | jq '.results[].path'`,
    )
    .action(async (words: string[], opts: { k?: number; mode?: SearchMode; explain?: boolean }, cmd: Command) => {
      await run(cmd, async (ctx) => {
        const { runSearch } = await import('./searchRun.js');
        await runSearch(ctx, words, opts);
      });
    });
}
