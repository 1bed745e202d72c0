import { Command, CommanderError, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { integerFlag, usdFlag } from '../src/cli/flagParsers.js';

/** Parses argv with one command holding the two parsers the way the CLI registers them. */
function parse(argv: string[]): { retries?: number; maxCost?: bigint } {
  const cmd = new Command('t')
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .addOption(new Option('--retries <n>').argParser(integerFlag('--retries', 0, 10)))
    .addOption(new Option('--max-cost <usd>').argParser(usdFlag('--max-cost')));
  cmd.parse(argv, { from: 'user' });
  return cmd.opts();
}

function failure(argv: string[]): CommanderError {
  try {
    parse(argv);
  } catch (error) {
    return error as CommanderError;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('flag parsers (commander argParser)', () => {
  it('turn valid values into numbers and exact nano-USD', () => {
    expect(parse(['--retries', '0', '--max-cost', '0.5'])).toEqual({ retries: 0, maxCost: 500_000_000n });
    expect(parse(['--retries', '10'])).toEqual({ retries: 10 });
  });

  it('refuse out-of-range or malformed values as commander usage errors naming the flag and range', () => {
    for (const value of ['11', '-1', '1.5', 'x', '', '1e1']) {
      const err = failure(['--retries', value]);
      expect(err.code, value).toBe('commander.invalidArgument');
      expect(err.message).toContain(`--retries must be an integer from 0 to 10, got "${value}"`);
    }
    expect(failure(['--max-cost', '1000001']).message).toMatch(/--max-cost is above the maximum 1,000,000/);
    expect(failure(['--max-cost', '0']).message).toMatch(/--max-cost must be positive/);
    expect(failure(['--max-cost', 'lots']).code).toBe('commander.invalidArgument');
  });
});
