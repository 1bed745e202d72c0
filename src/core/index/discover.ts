import { accessSync, constants as fsConstants, lstatSync, type Stats } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { execa } from 'execa';

export interface DiscoverOptions {
  include: string[];
  exclude: string[];
  maxFileBytes: number;
}

export interface DiscoveredFile {
  /** Repo-relative, forward slashes. */
  path: string;
  size: number;
  mtimeMs: number;
}

export type SkipReason =
  | 'secret'
  | 'lockfile'
  | 'vendored'
  | 'generated'
  | 'excluded'
  | 'too-large'
  | 'binary'
  | 'missing'
  | 'symlink'
  | 'unreadable';

export interface SkippedFile {
  path: string;
  reason: SkipReason;
}

export interface DiscoverResult {
  files: DiscoveredFile[];
  /** How many files were left out, by reason. */
  skipped: Map<SkipReason, number>;
  /** Which files were left out and why (for --verbose). */
  skippedFiles: SkippedFile[];
}

/** Never indexed and never sent to an LLM, whatever the include globs say. */
export const SECRET_GLOBS = [
  '**/.env',
  '**/.env.*',
  '**/*.env',
  '**/*.pem',
  '**/*.key',
  '**/*.p12',
  '**/*.pfx',
  '**/*.jks',
  '**/*.keystore',
  '**/*.kdbx',
  '**/*.gpg',
  '**/*.asc',
  '**/.envrc',
  '**/.npmrc',
  '**/.pypirc',
  '**/.netrc',
  '**/_netrc',
  '**/.git-credentials',
  '**/.dockercfg',
  '**/.docker/config.json',
  '**/.aws/credentials',
  '**/.ssh/**',
  '**/credentials',
  '**/credentials.json',
  '**/credentials.*.json',
  '**/*credentials*.json',
  '**/service-account*.json',
  '**/secrets.*',
  '**/*.secret',
  '**/*.secrets',
  '**/.htpasswd',
  '**/*.tfstate',
  '**/*.tfstate.*',
  '**/.terraform/**',
];

export const LOCKFILE_GLOBS = [
  '**/package-lock.json',
  '**/npm-shrinkwrap.json',
  '**/yarn.lock',
  '**/pnpm-lock.yaml',
  '**/bun.lockb',
  '**/bun.lock',
  '**/Cargo.lock',
  '**/Gemfile.lock',
  '**/composer.lock',
  '**/poetry.lock',
  '**/Pipfile.lock',
  '**/uv.lock',
  '**/go.sum',
  '**/flake.lock',
  '**/*.lock',
];

export const VENDORED_GLOBS = [
  '**/node_modules/**',
  '**/bower_components/**',
  '**/vendor/**',
  '**/third_party/**',
  '**/third-party/**',
  '**/.venv/**',
  '**/venv/**',
  '**/site-packages/**',
  '**/__pycache__/**',
  '**/.git/**',
  '**/.ai-dev-bot/**',
  '**/dist/**',
  '**/build/**',
  '**/out/**',
  '**/target/**',
  '**/.next/**',
  '**/coverage/**',
];

export const GENERATED_GLOBS = [
  '**/*.min.js',
  '**/*.min.mjs',
  '**/*.min.css',
  '**/*.map',
  '**/*.bundle.js',
  '**/*.chunk.js',
  '**/*.pb.go',
  '**/*_pb2.py',
  '**/*_pb2_grpc.py',
  '**/*.generated.*',
  '**/*.g.dart',
  '**/*.snap',
  '**/*.svg',
];

/** Binary by extension, to skip the content sniff for the common cases. */
const BINARY_EXTENSIONS = new Set(
  (
    'png jpg jpeg gif bmp ico webp avif tif tiff psd pdf zip gz tgz bz2 xz 7z rar jar war ear class dll so dylib exe bin o a ' +
    'lib obj wasm onnx safetensors pt pth ckpt h5 pb tflite npy npz parquet arrow feather sqlite db woff woff2 ttf otf eot ' +
    'mp3 mp4 mov avi mkv wav flac ogg webm pyc pyo hnsw lockb'
  ).split(' '),
);

const matcherOptions = { dot: true } as const;

/** One regular expression for a list of globs: picomatch's own, joined. */
function globsRegex(globs: readonly string[]): RegExp {
  return new RegExp(globs.map((glob) => picomatch.makeRe(glob, matcherOptions).source).join('|'));
}

/**
 * Matches paths against globs that start with `**` and a slash, as picomatch does, but fast enough
 * for the 20k paths of a big repo's no-op refresh: picomatch's regexes cost ~20 µs a path there,
 * because their any-folders prefix backtracks over the whole path for every glob. So a glob on a
 * name alone tests only the base name, one on a folder (`node_modules` then `**`) is a set lookup of
 * the path's segments (any segment: picomatch matches a file of that name too), and the few others
 * (`.aws/credentials`) test the whole path.
 */
export function pathMatcher(globs: readonly string[]): (relPath: string) => boolean {
  const names: string[] = [];
  const segments = new Set<string>();
  const whole: string[] = [];
  for (const glob of globs) {
    const rest = glob.startsWith('**/') ? glob.slice(3) : undefined;
    if (rest !== undefined && !rest.includes('/')) names.push(rest);
    else if (rest !== undefined && /^[^/*?[\]{}()!+@]+\/\*\*$/.test(rest)) segments.add(rest.slice(0, -3));
    else whole.push(glob);
  }
  const nameRegex = names.length > 0 ? globsRegex(names) : undefined;
  const wholeRegex = whole.length > 0 ? globsRegex(whole) : undefined;
  return (relPath) => {
    if (nameRegex?.test(relPath.slice(relPath.lastIndexOf('/') + 1))) return true;
    if (segments.size > 0 && relPath.split('/').some((segment) => segments.has(segment))) return true;
    return wholeRegex?.test(relPath) ?? false;
  };
}

/** The config's include/exclude globs, compiled once per distinct list. */
const configMatchers = new Map<string, (relPath: string) => boolean>();
function configMatch(relPath: string, globs: readonly string[]): boolean {
  const key = JSON.stringify(globs);
  let matcher = configMatchers.get(key);
  if (!matcher) configMatchers.set(key, (matcher = pathMatcher(globs)));
  return matcher(relPath);
}

const isSecretGlob = pathMatcher(SECRET_GLOBS);
/** SSH keys: `id_rsa`, `id_ed25519.pub`, any `id_*` without an extension (but not `id_utils.ts`). */
const SSH_KEY_NAME = /^id_(?:[^.]*|(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?\..*)$/;
const isSecret = (relPath: string): boolean => isSecretGlob(relPath) || SSH_KEY_NAME.test(path.posix.basename(relPath));
const isLockfile = pathMatcher(LOCKFILE_GLOBS);
const isVendored = pathMatcher(VENDORED_GLOBS);
const isGeneratedName = pathMatcher(GENERATED_GLOBS);

/** Secret files are excluded everywhere the tool reads the tree, not just in the index. */
export function isSecretPath(relPath: string): boolean {
  return isSecret(relPath);
}

/** Classifies a path by name alone; `undefined` means it may be indexed (content checks follow). */
export function classifyPath(
  relPath: string,
  options: Pick<DiscoverOptions, 'include' | 'exclude'>,
): SkipReason | undefined {
  if (isSecret(relPath)) return 'secret';
  const included = options.include.length > 0 && configMatch(relPath, options.include);
  if (options.exclude.length > 0 && configMatch(relPath, options.exclude)) return 'excluded';
  if (options.include.length > 0 && !included) return 'excluded';
  // Explicit include globs win over the built-in lockfile/vendored/generated defaults.
  if (included) return undefined;
  if (isLockfile(relPath)) return 'lockfile';
  if (isVendored(relPath)) return 'vendored';
  if (isGeneratedName(relPath)) return 'generated';
  const ext = path.posix.extname(relPath).slice(1).toLowerCase();
  if (BINARY_EXTENSIONS.has(ext)) return 'binary';
  return undefined;
}

const GENERATED_MARKER = /@generated|DO NOT EDIT|auto-generated|autogenerated by|generated by protoc/i;
const PRIVATE_KEY_MARKER = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
/** Prose has ~15 % whitespace, code more; minified bundles and data blobs have almost none. */
const MINIFIED_MAX_WHITESPACE = 0.08;

/** Long lines alone are not a signal (unwrapped Markdown prose); long lines with little whitespace are. */
function looksMinified(text: string): boolean {
  if (text.length <= 2000) return false;
  let lines = 1;
  let longest = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    lines++;
    longest = Math.max(longest, i - lineStart);
    lineStart = i + 1;
  }
  longest = Math.max(longest, text.length - lineStart);
  if (text.length / lines <= 300 && longest <= 5000) return false;
  const whitespace = text.match(/\s/g)?.length ?? 0;
  return whitespace / text.length < MINIFIED_MAX_WHITESPACE;
}

/**
 * Classifies file content: binary (NUL byte), secrets (private-key blocks), generated markers in the
 * head, and minified text. `undefined` means indexable.
 */
export function classifyContent(text: string): SkipReason | undefined {
  const head = text.slice(0, 8192);
  if (head.includes('\u0000')) return 'binary';
  if (PRIVATE_KEY_MARKER.test(text)) return 'secret';
  const headLines = head.split('\n', 6).join('\n');
  if (GENERATED_MARKER.test(headLines)) return 'generated';
  if (looksMinified(text)) return 'generated';
  return undefined;
}

/** Tracked plus untracked-but-not-ignored files, as git sees them (the user's .gitignore applies). */
export async function listGitFiles(root: string): Promise<string[]> {
  const { stdout } = await execa('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    stripFinalNewline: false,
    maxBuffer: 512 * 1024 * 1024,
  });
  const seen = new Set<string>();
  for (const entry of stdout.split('\0')) if (entry) seen.add(entry);
  return [...seen];
}

/** This process's user id, asked once (a native call a file showed in the profile of a big refresh). */
const processUid = process.getuid?.();

/**
 * A file nobody may read (mode 000), or one this process may not: skipped, not "changed" forever.
 * Decided from the stat where possible; only doubtful cases cost an access() call.
 */
function isUnreadable(abs: string, st: Stats): boolean {
  if ((st.mode & 0o444) === 0) return true;
  const uid = processUid;
  if (uid === undefined || uid === 0) return false;
  if (st.uid === uid) return (st.mode & 0o400) === 0;
  if ((st.mode & 0o004) !== 0) return false;
  try {
    accessSync(abs, fsConstants.R_OK);
    return false;
  } catch {
    return true;
  }
}

/**
 * The file's stat, or why a listed path is not a regular, readable, small-enough file. Synchronous:
 * over 20k files a loop of lstatSync takes a fraction of the time of as many promises.
 */
function statEntry(root: string, relPath: string, maxFileBytes: number): Stats | SkipReason {
  const abs = path.join(root, relPath);
  let st: Stats | undefined;
  try {
    st = lstatSync(abs, { throwIfNoEntry: false });
  } catch {
    return 'missing'; // e.g. a path through a file (ENOTDIR) or one too long
  }
  if (!st) return 'missing';
  // Links are never followed: one pointing out of the repo would leak its target (~/.env), and
  // one pointing inside is indexed under the target's own path anyway.
  if (st.isSymbolicLink()) return 'symlink';
  if (!st.isFile()) return 'missing';
  if (isUnreadable(abs, st)) return 'unreadable';
  if (st.size > maxFileBytes) return 'too-large';
  return st;
}

/**
 * Lists indexable files with their size and mtime. Content checks happen later, when a changed
 * file is read anyway, so an unchanged tree costs one `git ls-files` and a stat per file.
 */
export async function discoverFiles(root: string, options: DiscoverOptions): Promise<DiscoverResult> {
  const skipped = new Map<SkipReason, number>();
  const skippedFiles: SkippedFile[] = [];
  const skip = (relPath: string, reason: SkipReason) => {
    skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
    skippedFiles.push({ path: relPath, reason });
  };
  const files: DiscoveredFile[] = [];
  const candidates = (await listGitFiles(root)).filter((relPath) => {
    const reason = classifyPath(relPath, options);
    if (reason) skip(relPath, reason);
    return !reason;
  });
  const checked = candidates.map((relPath) => statEntry(root, relPath, options.maxFileBytes));
  candidates.forEach((relPath, i) => {
    const entry = checked[i]!;
    if (typeof entry === 'string') return skip(relPath, entry);
    files.push({ path: relPath, size: entry.size, mtimeMs: entry.mtimeMs });
  });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped, skippedFiles };
}

/** The real path of `relPath` when it stays inside `root` (no link on the way leads out). */
async function resolvesInside(root: string, relPath: string): Promise<boolean> {
  try {
    const [realRoot, real] = await Promise.all([realpath(root), realpath(path.join(root, relPath))]);
    return real.startsWith(realRoot + path.sep);
  } catch {
    return false;
  }
}

/**
 * Reads a file as UTF-8 text, or reports why it is not indexable. Never follows a link: the file
 * may have been swapped for one since it was listed (O_NOFOLLOW), or a parent folder may be one.
 */
export async function readIndexableText(
  root: string,
  relPath: string,
): Promise<{ text: string } | { skip: SkipReason }> {
  if (!(await resolvesInside(root, relPath))) return { skip: 'symlink' };
  let handle;
  try {
    handle = await open(path.join(root, relPath), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    const buffer = await handle.readFile();
    const text = buffer.toString('utf8');
    const reason = classifyContent(text);
    return reason ? { skip: reason } : { text };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { skip: 'symlink' };
    if (code === 'EACCES' || code === 'EPERM') return { skip: 'unreadable' };
    return { skip: 'missing' };
  } finally {
    await handle?.close();
  }
}
