import { execa } from 'execa';
import { accessSync, constants, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.js';
import { userCacheDir } from '../workspace.js';

/** The Aider release this tool is built and tested against (flags and output formats of 0.86.x). */
export const AIDER_PINNED_VERSION = '0.86.2';
const MIN_VERSION: [number, number] = [0, 86];

export const AIDER_INSTALL_HINT =
  `Install it with \`pipx install aider-chat==${AIDER_PINNED_VERSION}\` or ` +
  `\`python3 -m pip install aider-chat==${AIDER_PINNED_VERSION}\` (Python 3.10–3.12), ` +
  'or point config aider.bin / AIDER_BIN at an existing aider executable.';

export interface AiderExecutable {
  bin: string;
  version: string;
  /** Where it was found: config aider.bin (or AIDER_BIN), PATH, or a fallback location. */
  source: 'config' | 'path' | 'fallback';
}

export interface LocateAiderOptions {
  /** config `aider.bin` (AIDER_BIN is mapped onto it by the config loader). */
  configured?: string;
  /** Directory list to search, default `process.env.PATH`. */
  pathEnv?: string;
  /** Locations tried after PATH (e.g. the project's own .venv/aider when run from a clone). */
  fallbacks?: string[];
  /** File remembering `aider --version` per executable (path + mtime + size), to skip a ~1 s start. */
  versionCacheFile?: string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function searchPath(name: string, pathEnv: string): string | undefined {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function missing(message: string): AppError {
  return new AppError('aider_missing', message, AIDER_INSTALL_HINT);
}

type VersionCache = Record<string, { key: string; version: string }>;

function cacheKey(bin: string): string {
  const stat = statSync(realpathSync(bin));
  return `${stat.size}:${stat.mtimeMs}`;
}

function readCache(file: string | undefined): VersionCache {
  if (!file) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as VersionCache;
  } catch {
    return {};
  }
}

/** Runs `aider --version` (or reuses the cached answer for the same executable file). */
export async function aiderVersion(bin: string, cacheFile?: string): Promise<string> {
  const cache = readCache(cacheFile);
  const key = cacheKey(bin);
  const hit = cache[bin];
  if (hit && hit.key === key) return hit.version;
  let stdout: string;
  try {
    const result = await execa(bin, ['--version'], {
      stdin: 'ignore',
      timeout: 60_000,
      reject: false,
      env: { NO_COLOR: '1', AIDER_CHECK_UPDATE: 'false' },
    });
    if (result.failed && result.exitCode === undefined) throw new Error(result.shortMessage ?? 'could not be started');
    stdout = `${result.stdout}\n${result.stderr}`;
  } catch (error) {
    throw missing(`Aider at ${bin} could not be run: ${(error as Error).message}`);
  }
  const version = /aider\s+v?(\d+\.\d+\.\d+\S*)/i.exec(stdout)?.[1];
  if (!version)
    throw missing(`${bin} does not look like Aider: \`${bin} --version\` printed "${stdout.trim().slice(0, 200)}".`);
  if (cacheFile) {
    try {
      mkdirSync(path.dirname(cacheFile), { recursive: true });
      writeFileSync(cacheFile, JSON.stringify({ ...cache, [bin]: { key, version } }));
    } catch {
      // a cache we cannot write only costs a second next time
    }
  }
  return version;
}

/** Whether a version has the flags and formats this tool relies on (0.86 or newer). */
export function isSupportedAiderVersion(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  return major > MIN_VERSION[0] || (major === MIN_VERSION[0] && minor >= MIN_VERSION[1]);
}

/**
 * Finds Aider: config `aider.bin` / `AIDER_BIN` first (an explicit choice that does not exist is an
 * error, not a reason to look elsewhere), then `aider` on PATH, then the fallbacks. Missing or too
 * old → exit 6 with the install command.
 */
export async function locateAider(options: LocateAiderOptions): Promise<AiderExecutable> {
  let bin: string | undefined;
  let source: AiderExecutable['source'];
  if (options.configured) {
    const configured = options.configured.includes(path.sep)
      ? path.resolve(options.configured)
      : searchPath(options.configured, options.pathEnv ?? process.env.PATH ?? '');
    if (!configured || !isExecutable(configured))
      throw missing(`Aider not found at ${options.configured} (config aider.bin or AIDER_BIN).`);
    bin = configured;
    source = 'config';
  } else {
    bin = searchPath('aider', options.pathEnv ?? process.env.PATH ?? '');
    source = 'path';
    if (!bin) {
      bin = options.fallbacks?.find(isExecutable);
      source = 'fallback';
    }
  }
  if (!bin) throw missing('Aider is not installed: no `aider` on PATH and config aider.bin / AIDER_BIN is not set.');
  const version = await aiderVersion(bin, options.versionCacheFile);
  if (!isSupportedAiderVersion(version)) {
    throw new AppError(
      'aider_missing',
      `Aider ${version} at ${bin} is too old: ai-dev-bot needs 0.86 or newer (tested with ${AIDER_PINNED_VERSION}).`,
      AIDER_INSTALL_HINT,
    );
  }
  return { bin, version, source };
}

/** Where a developer's `npm run setup-aider` put Aider, when running from a clone of this project. */
export function projectAiderFallbacks(): string[] {
  // The bundle's chunk (dist/chunks/…) or this source file: the project's .venv is two or three levels up.
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [
    path.resolve(here, '..', '.venv', 'aider', 'bin', 'aider'),
    path.resolve(here, '..', '..', '.venv', 'aider', 'bin', 'aider'),
  ];
}

/** Cache of `aider --version` per executable (it takes seconds). */
export function aiderVersionCacheFile(): string {
  return path.join(userCacheDir(), 'aider-version.json');
}
