import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { userDir } from './userDirs.js';
import { AppError } from './errors.js';

export const STATE_DIR_NAME = '.ai-dev-bot';

/** Paths of everything the tool keeps for one repository (DESIGN §4). */
export interface Workspace {
  root: string;
  gitDir: string;
  stateDir: string;
  indexDir: string;
  logsDir: string;
  plansDir: string;
  runsDb: string;
}

function resolveGitDir(dotGit: string): string {
  const stat = statSync(dotGit);
  if (stat.isDirectory()) return dotGit;
  // Worktrees and submodules have a `.git` file pointing at the real git dir.
  const match = /^gitdir:\s*(.+)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
  if (!match) throw new AppError('not_a_git_repo', `${dotGit} is not a valid git link file.`);
  const gitDir = path.resolve(path.dirname(dotGit), match[1]!.trim());
  const commonFile = path.join(gitDir, 'commondir');
  return existsSync(commonFile) ? path.resolve(gitDir, readFileSync(commonFile, 'utf8').trim()) : gitDir;
}

/** Walks up from `cwd` to the enclosing git work tree; no subprocess, so it costs ~nothing at start-up. */
export function findRepoRoot(cwd: string): { root: string; gitDir: string } {
  let dir = path.resolve(cwd);
  if (!existsSync(dir)) {
    throw new AppError('bad_argument', `Directory ${dir} does not exist.`, 'Check the --cwd value.');
  }
  for (;;) {
    const dotGit = path.join(dir, '.git');
    if (existsSync(dotGit)) return { root: dir, gitDir: resolveGitDir(dotGit) };
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new AppError(
    'not_a_git_repo',
    `${path.resolve(cwd)} is not inside a git repository.`,
    'Run ai-dev-bot inside a git work tree, pass --cwd <repo>, or create one with `git init`.',
  );
}

export function workspaceFor(root: string, gitDir: string): Workspace {
  const stateDir = path.join(root, STATE_DIR_NAME);
  return {
    root,
    gitDir,
    stateDir,
    indexDir: path.join(stateDir, 'index'),
    logsDir: path.join(stateDir, 'logs'),
    plansDir: path.join(stateDir, 'plans'),
    runsDb: path.join(stateDir, 'runs.db'),
  };
}

export function openWorkspace(cwd: string): Workspace {
  const { root, gitDir } = findRepoRoot(cwd);
  return workspaceFor(root, gitDir);
}

/**
 * Creates the state dir and hides it through `.git/info/exclude` (never the user's .gitignore).
 * Idempotent; returns what it changed so `init` can report it.
 */
export function ensureStateDir(ws: Workspace): { created: boolean; excludeAdded: boolean } {
  const created = !existsSync(ws.stateDir);
  for (const dir of [ws.stateDir, ws.indexDir, ws.logsDir]) mkdirSync(dir, { recursive: true });
  const excludeFile = path.join(ws.gitDir, 'info', 'exclude');
  const pattern = `/${STATE_DIR_NAME}/`;
  let current = '';
  try {
    current = readFileSync(excludeFile, 'utf8');
  } catch {
    mkdirSync(path.dirname(excludeFile), { recursive: true });
  }
  const lines = current.split(/\r?\n/).map((line) => line.trim());
  if (lines.includes(pattern) || lines.includes(STATE_DIR_NAME) || lines.includes(`${STATE_DIR_NAME}/`)) {
    return { created, excludeAdded: false };
  }
  const prefix = current.length > 0 && !current.endsWith('\n') ? '\n' : '';
  if (current.length === 0) writeFileSync(excludeFile, `# added by ai-dev-bot\n${pattern}\n`);
  else appendFileSync(excludeFile, `${prefix}# added by ai-dev-bot\n${pattern}\n`);
  return { created, excludeAdded: true };
}

/** `$AI_DEV_BOT_HOME`, else `$XDG_DATA_HOME/ai-dev-bot` (the user-level ledger lives here). */
export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AI_DEV_BOT_HOME) return path.resolve(env.AI_DEV_BOT_HOME);
  return userDir('data', env);
}

/** `$XDG_CACHE_HOME/ai-dev-bot` (default `~/.cache/ai-dev-bot`): the model, export venv, Aider caches. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return userDir('cache', env);
}
