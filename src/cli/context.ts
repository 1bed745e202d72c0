import type { Command } from 'commander';
import { loadConfig, type Config } from '../core/config.js';
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
}

/** How main runs a command's body: global flags resolved, errors mapped to DESIGN §3 exit codes. */
export type CommandRunner = (cmd: Command, body: (ctx: CommandContext) => Promise<void>) => Promise<void>;
