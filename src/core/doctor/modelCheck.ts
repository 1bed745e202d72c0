import type { Config } from '../config.js';
import { offlineRequested } from '../index/model/ensureModel.js';
import { modelDirCandidates, verifyModelDir } from '../index/model/locateModel.js';
import { modelManifest } from '../index/model/manifest.js';
import { failed, ok, warning, type DoctorCheck } from './doctorCheck.js';

/**
 * The embedding model: the first directory that holds it, verified by sha256 (not just sizes, as
 * commands do); a copy that fails is named. Missing is a warning while auto-fetch is on.
 */
export async function modelCheck(config: Config, env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const precision = config.embedding.precision;
  const rejected: string[] = [];
  for (const candidate of modelDirCandidates(env)) {
    const check = await verifyModelDir(candidate.dir, precision);
    if (check.ok)
      return ok(
        'model',
        `${precision} model ${modelManifest.id} in ${candidate.dir} (${candidate.origin}), sha256 verified`,
      );
    rejected.push(`${candidate.origin}: ${check.reason}`);
  }
  const corrupt = rejected.filter((reason) => !/does not exist|is missing/.test(reason));
  const fetchFix =
    'Run `ai-dev-bot doctor --fetch-model` (downloads into the user cache; HF_ENDPOINT selects a mirror).';
  if (corrupt.length > 0) return failed('model', `no valid ${precision} model: ${corrupt.join('; ')}`, fetchFix);
  if (!config.embedding.autoFetch || offlineRequested(env))
    return failed(
      'model',
      `the ${precision} model is not installed and auto-fetch is off`,
      `${fetchFix} on a machine with network access, then copy the directory here or set AI_DEV_BOT_MODEL_DIR.`,
    );
  return warning(
    'model',
    `the ${precision} model is not installed yet; the first command that needs it fetches it`,
    fetchFix,
  );
}
