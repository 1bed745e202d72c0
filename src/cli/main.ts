import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { ExitCode } from '../core/errors.js';
import { autoSyncAfter } from './autoSync.js';
import type { CommandRunner } from './context.js';
import { Output, type GlobalOptions } from './output.js';
import { applyNoColorForChalk } from './terminal.js';
import { registerInit } from './commands/init.js';
import { registerIndex } from './commands/index.js';
import { registerSearch } from './commands/search.js';
import { registerPlan } from './commands/plan.js';
import { registerAsk } from './commands/ask.js';
import { registerCredits } from './commands/credits.js';
import { registerPricing } from './commands/pricing.js';
import { registerStatus } from './commands/status.js';
import { registerImplement } from './commands/implement.js';
import { registerVerify } from './commands/verify.js';
import { registerReadme } from './commands/readme.js';
import { registerTrust } from './commands/trust.js';
import { registerDoctor } from './commands/doctor.js';
import { version } from './version.js';

// A CLI process parses its config and a few answers once: zod compiling each schema into a fast
// path costs more than it saves there (config parse 16 → 8 ms). The long-running server keeps it.
z.config({ jitless: true });

/** Runs a command body with the global flags resolved and errors mapped to DESIGN §3 exit codes. */
const runCommand: CommandRunner = async (cmd, body) => {
  const options = cmd.optsWithGlobals<GlobalOptions>();
  // Loaded here, not at the top: config validation (zod) is not needed for --help or a bad flag.
  const { CommandContext } = await import('./context.js');
  const ctx = new CommandContext(options);
  try {
    await body(ctx);
  } catch (err) {
    process.exitCode = ctx.out.failure(err);
  }
  await autoSyncAfter(cmd, ctx);
};

export function buildProgram(): Command {
  const program = new Command('ai-dev-bot')
    .description('A coding agent for git repositories: local semantic index, LLM plans, Aider edits, metered credits.')
    .version(version, '-V, --version')
    .addOption(new Option('--json', 'print exactly one JSON object on stdout; logs go to stderr'))
    .addOption(new Option('--cwd <dir>', 'run as if started in <dir>'))
    .addOption(new Option('-q, --quiet', 'print only results and errors').conflicts('verbose'))
    .addOption(new Option('-v, --verbose', 'print debug details'))
    .addOption(new Option('-y, --yes', 'answer yes to every question (never prompt; CI=true implies it)'))
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ ai-dev-bot index                                   embed the working tree (incremental)
  $ ai-dev-bot search "where is the retry delay computed"
  $ ai-dev-bot search "parse config" -k 3 --json

CI: without a terminal on stdin, with CI=true or --yes nothing prompts (a question that needs an
answer fails with exit 2 and names the flag that answers it); no ANSI colour unless FORCE_COLOR is
set; NO_COLOR turns colour off on a terminal too.

Exit codes: 0 done, 1 internal error, 2 usage/config error, 3 out of credits or budget,
4 verification rejected, 5 nothing to do, 6 Aider missing or failed, 7 LLM provider failed.`,
    );
  registerInit(program, runCommand);
  registerIndex(program, runCommand);
  registerSearch(program, runCommand);
  registerPlan(program, runCommand);
  registerAsk(program, runCommand);
  registerCredits(program, runCommand);
  registerPricing(program, runCommand);
  registerStatus(program, runCommand);
  registerImplement(program, runCommand);
  registerVerify(program, runCommand);
  registerReadme(program, runCommand);
  registerTrust(program, runCommand);
  registerDoctor(program, runCommand);
  return program;
}

/** `ai-dev-bot … | head` closes stdout early; that is the reader's choice, not an error. */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe();
  applyNoColorForChalk();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      process.exitCode = err.exitCode === 0 ? 0 : ExitCode.usage;
      if (err.exitCode !== 0 && (argv.includes('--json') || argv.includes('--events'))) {
        const error = {
          code: 'bad_argument',
          message: err.message.replace(/^error: /, ''),
          hint: 'Run with --help for usage.',
        };
        const line = argv.includes('--events') ? { type: 'error', error, time: new Date().toISOString() } : { error };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      }
      return;
    }
    const out = new Output({
      json: argv.includes('--json'),
      events: argv.includes('--events'),
      verbose: argv.includes('--verbose'),
    });
    process.exitCode = out.failure(err);
  }
}

await main(process.argv);
