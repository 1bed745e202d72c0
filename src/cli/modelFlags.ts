import { Option, type Command } from 'commander';
import { usdFlag } from './flagParsers.js';

/** `--provider`, `--model` and `--max-cost` for a command whose calls go to the architect model. */
export function withArchitectModelFlags(
  command: Command,
  maxCostHelp = 'refuse calls that could take the command over this cost (USD of provider cost)',
): Command {
  return command
    .option('--provider <id>', 'gemini, openrouter or openai (default: config llm.architect.provider)')
    .option('--model <name>', 'model id (default: config llm.architect.model)')
    .addOption(new Option('--max-cost <usd>', maxCostHelp).argParser(usdFlag('--max-cost')));
}
