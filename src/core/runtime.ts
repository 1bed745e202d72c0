import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from './config.js';
import type { EmbeddingModelLoader } from './index/model/types.js';
import type { IndexSearcher, SearchMode } from './index/search.js';
import type { Ledger } from './ledger/ledger.js';
import type { Meter } from './llm/meter.js';
import type { MeteredModel } from './llm/meteredModel.js';
import type { LlmRole, RoleModel } from './llm/providers.js';
import type { ContextHit } from './plan/planContext.js';
import type { Reporter } from './reporter.js';
import { ensureStateDir, openWorkspace, type Workspace } from './workspace.js';

/** `--provider/--model` for one role. */
export interface ModelFlags {
  provider?: string;
  model?: string;
}

export interface RuntimeOptions {
  /** Any directory inside the repository. */
  cwd: string;
  reporter: Reporter;
  env?: NodeJS.ProcessEnv;
  /** Flags that pick a role's model (a command's `--provider/--model` apply to one role). */
  models?: Partial<Record<LlmRole, ModelFlags>>;
  /** `--max-cost` in nano-USD: one budget for every model the command calls. */
  maxCostNano?: bigint | undefined;
  /** How fetching the embedding model on first need shows its steps (default: silent). */
  modelFetch?: { log(line: string): void; progressOnStderr: boolean };
  /** The repository and config, when the caller opened them already. */
  opened?: { ws: Workspace; config: Config };
}

/** Index search and refresh for a loop that edits files; both absent when the repository has no index. */
export interface IndexHooks {
  search?: (query: string, k: number) => Promise<ContextHit[]>;
  refresh?: () => Promise<void>;
}

/**
 * What every use case starts from: the repository, its config, a metered model per role (one
 * ledger and one `--max-cost` budget for the command), the embedding model and index on first
 * need, and `close()` for all of it. Heavy modules (LLM clients, SQLite, onnxruntime, hnswlib)
 * load only when asked for, so a command pays for what it uses.
 */
export class Runtime {
  readonly ws: Workspace;
  readonly config: Config;
  readonly reporter: Reporter;
  readonly env: NodeJS.ProcessEnv;
  private userLedger: Promise<Ledger> | undefined;
  private commandMeter: Promise<Meter> | undefined;
  private loader: Promise<EmbeddingModelLoader> | undefined;
  private openSearcher: Promise<IndexSearcher> | undefined;

  constructor(private readonly options: RuntimeOptions) {
    this.ws = options.opened?.ws ?? openWorkspace(options.cwd);
    if (!options.opened) ensureStateDir(this.ws);
    this.env = options.env ?? process.env;
    this.config = options.opened?.config ?? loadConfig({ repoRoot: this.ws.root, env: this.env });
    this.reporter = options.reporter;
  }

  /**
   * A role's model after config and the command's flags, not metered yet (no ledger opened). A
   * missing key fails here (exit 2) unless `connectOnFirstCall` (the coder: Aider calls it).
   */
  async role(role: LlmRole, options: { connectOnFirstCall?: boolean } = {}): Promise<RoleModel> {
    const { roleModel } = await import('./llm/providers.js');
    const extras = { env: this.env, reporter: this.reporter, ...options };
    return roleModel(this.config, role, this.options.models?.[role] ?? {}, extras);
  }

  /** A role's model, metered against the command's ledger and budget. A missing key fails (exit 2) before the ledger is opened. */
  async model(role: LlmRole): Promise<MeteredModel> {
    const prepared = await this.role(role);
    return prepared.metered(await this.meter());
  }

  ledger(): Promise<Ledger> {
    this.userLedger ??= import('./ledger/open.js').then(({ openUserLedger }) => openUserLedger(this.config, this.env));
    return this.userLedger;
  }

  /** The command's meter: charged to this repository, within `--max-cost`. */
  meter(): Promise<Meter> {
    this.commandMeter ??= (async () => {
      const ledger = await this.ledger();
      const [{ createMeter }, { Budget }] = await Promise.all([import('./llm/meter.js'), import('./llm/budget.js')]);
      const { maxCostNano } = this.options;
      return createMeter({
        config: this.config,
        ledger,
        reporter: this.reporter,
        project: path.basename(this.ws.root),
        ...(maxCostNano !== undefined ? { budget: new Budget({ nano: maxCostNano }) } : {}),
      });
    })();
    return this.commandMeter;
  }

  /** The embedding model, fetched on first need (its steps shown through `modelFetch`). */
  embeddingModel(): Promise<EmbeddingModelLoader> {
    this.loader ??= Promise.all([import('./index/model/loader.js'), import('./index/model/fetchModel.js')]).then(
      ([{ createModelLoader }, { stderrProgress }]) => {
        const { embedding } = this.config;
        const view = this.options.modelFetch;
        return createModelLoader({
          precision: embedding.precision,
          ...(embedding.threads !== undefined ? { threads: embedding.threads } : {}),
          disabledOptimizers: embedding.disabledOptimizers,
          inferenceWorker: embedding.inferenceWorker,
          ...(embedding.sessions !== undefined ? { sessions: embedding.sessions } : {}),
          autoFetch: embedding.autoFetch,
          log: view?.log ?? (() => {}),
          progress: view?.progressOnStderr ? stderrProgress() : () => ({ update() {}, done() {} }),
        });
      },
    );
    return this.loader;
  }

  /**
   * The index searcher, opened on first call and kept until `close()`; without vectors it reads
   * only the keyword index (no model, no hnswlib). Fails (exit 2) when there is no index.
   */
  searcher(options: { needVectors: boolean; fewQueries?: boolean }): Promise<IndexSearcher> {
    this.openSearcher ??= this.openIndexSearcher(options.needVectors, options.fewQueries);
    return this.openSearcher;
  }

  /** Search in the configured mode, the index opened on first use: errors surface from the call. */
  readonly search = async (query: string, k: number): Promise<ContextHit[]> => {
    const mode: SearchMode = this.config.search.mode;
    const searcher = await this.searcher({ needVectors: mode !== 'keyword' });
    return searcher.search(query, k, mode);
  };

  /**
   * Search and refresh for the implement loop, only when the repository has an index. Each search
   * opens the index afresh: the loop refreshes it between attempts.
   */
  async indexHooks(): Promise<IndexHooks> {
    if (!existsSync(path.join(this.ws.indexDir, 'index.db'))) {
      this.reporter.debug('No index: Aider gets only the item files (run `ai-dev-bot index` for context files).');
      return {};
    }
    const { refreshIndex } = await import('./index/indexer.js');
    const mode = this.config.search.mode;
    return {
      search: async (query, k) => {
        // Opened per query: the flat vector file is cheaper to read than the graph.
        const searcher = await this.openIndexSearcher(mode !== 'keyword', true);
        try {
          return await searcher.search(query, k, mode);
        } finally {
          searcher.close();
        }
      },
      refresh: async () => {
        await refreshIndex(this.ws, this.config, { model: await this.embeddingModel(), reporter: this.reporter }, {});
      },
    };
  }

  /** `fewQueries`: one or two searches, so the flat vector file is scanned instead of loading the graph. */
  private async openIndexSearcher(needVectors: boolean, fewQueries = false): Promise<IndexSearcher> {
    const [{ IndexSearcher }, model] = await Promise.all([import('./index/search.js'), this.embeddingModel()]);
    return IndexSearcher.open(this.ws, model, this.reporter, { needVectors, fewQueries });
  }

  /** Closes what was opened: the searcher, the embedding model, the ledger. Safe to call twice. */
  async close(): Promise<void> {
    const searcher = this.openSearcher;
    this.openSearcher = undefined;
    await searcher?.then((s) => s.close()).catch(() => {});
    const loader = this.loader;
    this.loader = undefined;
    await loader?.then((m) => m.close()).catch(() => {});
    const ledger = this.userLedger;
    this.userLedger = undefined;
    this.commandMeter = undefined;
    await ledger?.then((l) => l.close()).catch(() => {});
  }
}

/** Opens the repository at `options.cwd` (its state dir created) with its config. */
export function openRuntime(options: RuntimeOptions): Runtime {
  return new Runtime(options);
}
