import type { Command } from 'commander';
import { loadConfig, type Config } from '../core/config.js';
import { openRuntime, type Runtime, type RuntimeOptions } from '../core/runtime.js';
import { ensureStateDir, openWorkspace, type Workspace } from '../core/workspace.js';
import { Output, type GlobalOptions } from './output.js';

/** What every command gets: parsed global flags, the output sink, and lazy workspace/config. */
export class CommandContext {
  readonly out: Output;
  readonly cwd: string;
  private ws: Workspace | undefined;
  private cfg: Config | undefined;

  constructor(
    readonly options: GlobalOptions,
    private readonly configOverrides: Record<string, unknown> = {},
  ) {
    this.out = new Output(options);
    this.cwd = options.cwd ?? process.cwd();
  }

  /** The repository, with its state dir created on first use (commands other than init init lazily). */
  workspace(): Workspace {
    if (!this.ws) {
      this.ws = openWorkspace(this.cwd);
      ensureStateDir(this.ws);
    }
    return this.ws;
  }

  config(): Config {
    this.cfg ??= loadConfig({ repoRoot: this.workspace().root, overrides: this.configOverrides });
    return this.cfg;
  }

  /** The use cases' runtime on this repository: output as its reporter, the command's model flags and budget. */
  runtime(flags: Pick<RuntimeOptions, 'models' | 'maxCostNano'> = {}): Runtime {
    return openRuntime({
      ...flags,
      cwd: this.cwd,
      reporter: this.out,
      // The embedding model's fetch steps as info lines; a bar (or a line every few seconds) on stderr.
      modelFetch: { log: (line) => this.out.info(`fetch-model: ${line}`), progressOnStderr: !this.out.quiet },
      opened: { ws: this.workspace(), config: this.config() },
    });
  }
}

/** How main runs a command's body: global flags resolved, errors mapped to DESIGN §3 exit codes. */
export type CommandRunner = (cmd: Command, body: (ctx: CommandContext) => Promise<void>) => Promise<void>;
