import { execa } from 'execa';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.js';

/**
 * The working tree before an attempt, recorded precisely enough to put it back byte for byte:
 * HEAD, every path git reports as changed or untracked (with a copy of its bytes and mode), so
 * the user's own uncommitted work is restored as it was and everything else comes from HEAD.
 */
export interface TreeSnapshot {
  head: string;
  /** Paths (repo-relative, POSIX) that differed from HEAD or were untracked before the attempt. */
  dirty: DirtyEntry[];
  /**
   * Files outside the repository that a symlink in it points at, with a saved copy: Aider writes
   * through links, so a rejected or interrupted attempt puts these back too. Absent in snapshots
   * written before this field existed.
   */
  outside?: OutsideTarget[];
}

export interface OutsideTarget {
  /** The link, repo-relative. */
  link: string;
  /** The real path of the file it resolves to. */
  target: string;
  copy: string;
  mode: number;
}

export interface DirtyEntry {
  path: string;
  /** Porcelain status code (XY), e.g. " M", "??", " D". */
  status: string;
  /** File name of the saved copy inside the snapshot dir; absent when the path did not exist. */
  copy?: string;
  mode?: number;
  symlink?: string;
}

export interface StatusEntry {
  path: string;
  status: string;
}

/** Variables for interactive or remote git features (editor, pager, ssh, askpass): none are used here. */
const UNUSED_GIT_ENV =
  /^(EDITOR|VISUAL|PAGER|GIT_EDITOR|GIT_SEQUENCE_EDITOR|GIT_PAGER|GIT_ASKPASS|SSH_ASKPASS|GIT_SSH|GIT_SSH_COMMAND|GIT_PROXY_COMMAND|GIT_EXTERNAL_DIFF|GIT_TEMPLATE_DIR)$/i;

export interface GitCommand {
  /** Runs `git <args>` in the work tree; resolves with stdout, rejects with git's stderr. */
  raw(args: string[]): Promise<string>;
}

/**
 * git through execa rather than simple-git: simple-git waits an extra 50 ms after every command
 * that prints nothing (its completion-detection plugin), and most of the loop's commands are quiet
 * (`status` of a clean tree, `add`, `commit -q`, `checkout -q`): measured 159 of the 167 ms of
 * per-attempt overhead (npm run bench:implement). The user's git configuration still applies.
 */
export function git(root: string): GitCommand {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !UNUSED_GIT_ENV.test(key)) env[key] = value;
  Object.assign(env, { GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' });
  return {
    async raw(args) {
      const result = await execa('git', args, {
        cwd: root,
        env,
        extendEnv: false,
        stdin: 'ignore',
        reject: false,
        stripFinalNewline: false,
        maxBuffer: 512 * 1024 * 1024,
      });
      if (result.exitCode !== 0) {
        const detail = String(result.stderr || result.stdout || result.shortMessage || '').trim();
        const sub = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c') ?? '';
        throw new Error(`git ${sub} failed: ${detail}`);
      }
      return String(result.stdout);
    },
  };
}

/** `git status` as entries (renames report the new path and, separately, the old one). */
export async function gitStatus(root: string): Promise<StatusEntry[]> {
  const out = await git(root).raw(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames']);
  const entries: StatusEntry[] = [];
  const parts = out.split('\0');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.length < 4) continue;
    entries.push({ status: part.slice(0, 2), path: part.slice(3) });
  }
  return entries;
}

export async function headCommit(root: string): Promise<string> {
  try {
    return (await git(root).raw(['rev-parse', '--verify', 'HEAD'])).trim();
  } catch {
    throw new AppError(
      'bad_argument',
      `The repository at ${root} has no commits yet.`,
      'Make a first commit (git commit --allow-empty -m init), then run again.',
    );
  }
}

function saveCopy(root: string, rel: string, dir: string, n: number): Omit<DirtyEntry, 'path' | 'status'> {
  const abs = path.join(root, rel);
  let stat;
  try {
    stat = lstatSync(abs);
  } catch {
    return {};
  }
  if (stat.isSymbolicLink()) return { symlink: readlinkSync(abs), mode: stat.mode & 0o777 };
  if (!stat.isFile()) return {};
  const copy = `f${n}`;
  copyFileSync(abs, path.join(dir, copy));
  return { copy, mode: stat.mode & 0o777 };
}

/** Symlinks in the tree (tracked, or untracked in `status`) that resolve to a regular file outside it. */
async function saveOutsideTargets(root: string, status: StatusEntry[], dir: string): Promise<OutsideTarget[]> {
  const links = new Set<string>();
  const staged = await git(root).raw(['ls-files', '-s', '-z']);
  for (const entry of staged.split('\0'))
    if (entry.startsWith('120000 ')) links.add(entry.slice(entry.indexOf('\t') + 1));
  for (const entry of status) links.add(entry.path);
  const realRoot = realpathSync(root);
  const out: OutsideTarget[] = [];
  for (const link of links) {
    const abs = path.join(root, link);
    let target: string;
    try {
      if (!lstatSync(abs).isSymbolicLink()) continue;
      target = realpathSync(abs);
      if (target.startsWith(realRoot + path.sep) || !statSync(target).isFile()) continue;
    } catch {
      continue; // dangling: nothing outside to save
    }
    const copy = `o${out.length}`;
    copyFileSync(target, path.join(dir, copy));
    out.push({ link, target, copy, mode: statSync(target).mode & 0o777 });
  }
  return out;
}

/** Outside targets whose bytes or mode differ from the saved copy. */
function changedOutsideTargets(snapshot: TreeSnapshot, dir: string): OutsideTarget[] {
  return (snapshot.outside ?? []).filter((o) => {
    try {
      const stat = statSync(o.target);
      return (stat.mode & 0o777) !== o.mode || !readFileSync(o.target).equals(readFileSync(path.join(dir, o.copy)));
    } catch {
      return true;
    }
  });
}

/** Records HEAD and copies every changed/untracked file into `dir` (which must be empty or new). */
export async function takeSnapshot(root: string, dir: string): Promise<TreeSnapshot> {
  mkdirSync(dir, { recursive: true });
  const head = await headCommit(root);
  const status = await gitStatus(root);
  const dirty = status.map((entry, n) => ({ ...entry, ...saveCopy(root, entry.path, dir, n) }));
  const outside = await saveOutsideTargets(root, status, dir);
  const snapshot: TreeSnapshot = { head, dirty, outside };
  writeFileSync(path.join(dir, 'snapshot.json'), JSON.stringify(snapshot, null, 1));
  return snapshot;
}

export function readSnapshot(dir: string): TreeSnapshot {
  return JSON.parse(readFileSync(path.join(dir, 'snapshot.json'), 'utf8')) as TreeSnapshot;
}

function sameAsCopy(root: string, entry: DirtyEntry, dir: string): boolean {
  const abs = path.join(root, entry.path);
  let stat;
  try {
    stat = lstatSync(abs);
  } catch {
    return entry.copy === undefined && entry.symlink === undefined;
  }
  if (entry.symlink !== undefined) return stat.isSymbolicLink() && readlinkSync(abs) === entry.symlink;
  if (entry.copy === undefined || !stat.isFile()) return false;
  if ((stat.mode & 0o777) !== entry.mode) return false;
  return readFileSync(abs).equals(readFileSync(path.join(dir, entry.copy)));
}

export interface TreeChanges {
  /** Paths the attempt changed, created or deleted (not the user's dirty files). */
  changed: string[];
  /** Of those, files that did not exist in HEAD (new untracked files). */
  created: string[];
  /** User's dirty files whose content changed since the snapshot. */
  touchedUserFiles: string[];
  /** Links whose target outside the repository was written through them. */
  escaped: string[];
}

/** What changed in the tree since `snapshot` was taken. */
export async function changesSince(root: string, snapshot: TreeSnapshot, dir: string): Promise<TreeChanges> {
  const before = new Map(snapshot.dirty.map((e) => [e.path, e]));
  const now = await gitStatus(root);
  const changed: string[] = [];
  const created: string[] = [];
  for (const entry of now) {
    if (before.has(entry.path)) continue;
    changed.push(entry.path);
    if (entry.status === '??' || entry.status[0] === 'A') created.push(entry.path);
  }
  const touchedUserFiles: string[] = [];
  for (const entry of snapshot.dirty) if (!sameAsCopy(root, entry, dir)) touchedUserFiles.push(entry.path);
  const escaped = changedOutsideTargets(snapshot, dir).map((o) => o.link);
  return { changed, created, touchedUserFiles, escaped };
}

function removeEmptyParents(root: string, rel: string): void {
  let dir = path.dirname(path.join(root, rel));
  while (dir.startsWith(root + path.sep) && dir !== root) {
    try {
      if (readdirSync(dir).length > 0) return;
      rmdirSync(dir);
    } catch {
      return;
    }
    dir = path.dirname(dir);
  }
}

/**
 * Puts the tree back to `snapshot`: paths changed since come back from HEAD (or are removed when
 * they did not exist), the user's dirty files get their saved bytes and mode back. HEAD itself must
 * not have moved (nothing is committed before approval). Returns the paths it restored.
 */
export async function restoreSnapshot(root: string, snapshot: TreeSnapshot, dir: string): Promise<string[]> {
  const repo = git(root);
  const head = await headCommit(root);
  if (head !== snapshot.head) {
    throw new AppError(
      'internal',
      `Cannot restore the working tree: HEAD moved from ${snapshot.head.slice(0, 12)} to ${head.slice(0, 12)} since the attempt started.`,
      `The saved copies of your uncommitted files are in ${dir}.`,
    );
  }
  const { changed } = await changesSince(root, snapshot, dir);
  const statusOf = new Map((await gitStatus(root)).map((e) => [e.path, e.status]));
  const restored: string[] = [];
  if (changed.length > 0) {
    const inHead = new Set(
      (await repo.raw(['ls-tree', '-r', '-z', '--name-only', 'HEAD', '--', ...changed])).split('\0').filter(Boolean),
    );
    const fromHead = changed.filter((p) => inHead.has(p));
    const extra = changed.filter((p) => !inHead.has(p));
    if (extra.length > 0) {
      // Aider `git add`s files it creates (even with --no-auto-commits): drop them from the index
      // (reset to HEAD, where they do not exist), then delete them.
      const staged = extra.filter((p) => statusOf.get(p)?.[0] !== '?');
      for (let i = 0; i < staged.length; i += 200)
        await repo.raw(['reset', '-q', 'HEAD', '--', ...staged.slice(i, i + 200)]);
      for (const rel of extra) {
        rmSync(path.join(root, rel), { force: true, recursive: true });
        removeEmptyParents(root, rel);
      }
    }
    for (let i = 0; i < fromHead.length; i += 200) {
      await repo.raw(['checkout', '-q', 'HEAD', '--', ...fromHead.slice(i, i + 200)]);
    }
    restored.push(...changed);
  }
  for (const entry of snapshot.dirty) {
    if (sameAsCopy(root, entry, dir)) continue;
    const abs = path.join(root, entry.path);
    rmSync(abs, { force: true, recursive: true });
    if (entry.symlink !== undefined) {
      mkdirSync(path.dirname(abs), { recursive: true });
      symlinkSync(entry.symlink, abs);
    } else if (entry.copy !== undefined) {
      mkdirSync(path.dirname(abs), { recursive: true });
      copyFileSync(path.join(dir, entry.copy), abs);
      if (entry.mode !== undefined) chmodSync(abs, entry.mode);
    } else {
      removeEmptyParents(root, entry.path);
    }
    restored.push(entry.path);
  }
  for (const o of changedOutsideTargets(snapshot, dir)) {
    // Written in place (not replaced): the file outside is the user's, the link keeps pointing at it.
    writeFileSync(o.target, readFileSync(path.join(dir, o.copy)));
    chmodSync(o.target, o.mode);
    restored.push(o.link);
  }
  return restored;
}

/** The diff of the attempt against HEAD: tracked changes from git, new files rendered as additions. */
export async function diffAgainstHead(
  root: string,
  changes: Pick<TreeChanges, 'changed' | 'created'>,
): Promise<string> {
  const created = new Set(changes.created);
  const tracked = changes.changed.filter((p) => !created.has(p));
  const parts: string[] = [];
  if (tracked.length > 0)
    parts.push(await git(root).raw(['diff', '--no-color', '--no-ext-diff', 'HEAD', '--', ...tracked]));
  for (const rel of changes.created) parts.push(newFileDiff(root, rel));
  return parts.filter(Boolean).join('');
}

function newFileDiff(root: string, rel: string): string {
  const abs = path.join(root, rel);
  if (!existsSync(abs) || !lstatSync(abs).isFile()) return '';
  const bytes = readFileSync(abs);
  const header = `diff --git a/${rel} b/${rel}\nnew file mode 100${(lstatSync(abs).mode & 0o777).toString(8).padStart(3, '0')}\n`;
  if (bytes.includes(0)) return `${header}Binary files /dev/null and b/${rel} differ\n`;
  const text = bytes.toString('utf8');
  if (text === '') return header;
  const lines = text.split('\n');
  const noFinalNewline = !text.endsWith('\n');
  if (!noFinalNewline) lines.pop();
  return (
    `${header}--- /dev/null\n+++ b/${rel}\n@@ -0,0 +1${lines.length === 1 ? '' : `,${lines.length}`} @@\n` +
    lines.map((l) => `+${l}\n`).join('') +
    (noFinalNewline ? '\\ No newline at end of file\n' : '')
  );
}

/** Commits exactly `paths` (the attempt's files and the plan), leaving any other staged work alone. */
export async function commitPaths(
  root: string,
  paths: string[],
  message: string,
  messageFile: string,
): Promise<string> {
  const repo = git(root);
  writeFileSync(messageFile, message);
  await repo.raw(['add', '-A', '--', ...paths]);
  const identity = await repo.raw(['config', '--get', 'user.email']).catch(() => '');
  const prefix = identity.trim() ? [] : ['-c', 'user.name=ai-dev-bot', '-c', 'user.email=ai-dev-bot@localhost'];
  await repo.raw([...prefix, 'commit', '-q', '--no-edit', '-F', messageFile, '--only', '--', ...paths]);
  rmSync(messageFile, { force: true });
  return headCommit(root);
}

/**
 * Adds `pattern` to `.git/info/exclude` (never the user's .gitignore) unless present. Used for
 * Aider's repo-map cache (`.aider.tags.cache.v4/`), which it writes into the work tree.
 */
export function excludeFromGit(gitDir: string, pattern: string): void {
  const file = path.join(gitDir, 'info', 'exclude');
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    mkdirSync(path.dirname(file), { recursive: true });
  }
  if (current.split(/\r?\n/).some((line) => line.trim() === pattern)) return;
  const prefix = current.length > 0 && !current.endsWith('\n') ? '\n' : '';
  writeFileSync(file, `${current}${prefix}# added by ai-dev-bot (Aider's cache)\n${pattern}\n`);
}

/** The subject line of HEAD's commit message. */
export async function headSubject(root: string): Promise<string> {
  return (await git(root).raw(['log', '-1', '--format=%s'])).trim();
}

/**
 * The git side effects of the implement loop behind one small interface (the loop takes it as a
 * dependency; `gitWorkTree` is the real one, on a repository's work tree).
 */
export interface WorkTree {
  readonly root: string;
  status(): Promise<StatusEntry[]>;
  head(): Promise<string>;
  headSubject(): Promise<string>;
  snapshot(dir: string): Promise<TreeSnapshot>;
  changesSince(snapshot: TreeSnapshot, dir: string): Promise<TreeChanges>;
  restore(snapshot: TreeSnapshot, dir: string): Promise<string[]>;
  diff(changes: Pick<TreeChanges, 'changed' | 'created'>): Promise<string>;
  commit(paths: string[], message: string, messageFile: string): Promise<string>;
}

export function gitWorkTree(root: string): WorkTree {
  return {
    root,
    status: () => gitStatus(root),
    head: () => headCommit(root),
    headSubject: () => headSubject(root),
    snapshot: (dir) => takeSnapshot(root, dir),
    changesSince: (snapshot, dir) => changesSince(root, snapshot, dir),
    restore: (snapshot, dir) => restoreSnapshot(root, snapshot, dir),
    diff: (changes) => diffAgainstHead(root, changes),
    commit: (paths, message, messageFile) => commitPaths(root, paths, message, messageFile),
  };
}
