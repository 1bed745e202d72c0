import { lstatSync } from 'node:fs';
import path from 'node:path';
import { isSecretPath } from '../index/discover.js';
import { filesHoldingCredentials } from '../secrets/credentialFiles.js';
import { git } from './gitTree.js';
import { resolvesOutsideRepo } from './repoPaths.js';

/**
 * The files Aider may see: its `--aiderignore` gets "ignore everything except these". Aider then
 * neither adds a file named in the message or a reply (it answers "Add file to the chat?" with yes
 * under --yes-always) nor shows it in the repo map unless it is listed here. Checked with Aider
 * 0.86.2: a committed `.env` named in the message is not sent once it is left out of this list.
 */
export async function aiderAllowList(
  root: string,
  options: { editable: string[]; planRel: string },
): Promise<string[]> {
  const listed = (await git(root).raw(['ls-files', '-z', '--cached', '--others', '--exclude-standard']))
    .split('\0')
    .filter(Boolean);
  const allowed = new Set(options.editable);
  for (const rel of listed) if (mayShowAider(root, rel, options.planRel)) allowed.add(rel);
  return [...allowed].sort();
}

/** The same rule for every path git lists: not secret, not the plan or our state, inside the repo. */
function mayShowAider(root: string, rel: string, planRel: string): boolean {
  if (rel === planRel || rel.startsWith('.ai-dev-bot/') || isSecretPath(rel)) return false;
  // git lists neither tracked nor untracked files beneath a symlinked directory (only the link),
  // so only an entry that is itself a link can lead out: one lstat per file, realpath for links.
  try {
    if (!lstatSync(path.join(root, rel)).isSymbolicLink()) return true;
  } catch {
    return true; // listed by git but deleted from the tree: nothing to read through it
  }
  return !resolvesOutsideRepo(root, rel);
}

/**
 * Files of `allowed` that `message` names the way Aider matches names (a word equal to the path,
 * or to a basename unique in the list) and that hold a credential by content: Aider would add them
 * whole to its chat. Only the named files are scanned, so this stays cheap on a large repository;
 * the item's own files (`editable`) are not judged here.
 */
export async function mentionedCredentialFiles(
  root: string,
  allowed: string[],
  message: string,
  editable: string[],
): Promise<string[]> {
  const words = new Set(
    message
      .split(/\s+/)
      .map((w) => w.replace(/[,.!;:?]+$/, '').replace(/^["'`*_]+|["'`*_]+$/g, ''))
      .filter(Boolean),
  );
  const byBase = new Map<string, string[]>();
  for (const rel of allowed) {
    const base = path.posix.basename(rel);
    byBase.set(base, [...(byBase.get(base) ?? []), rel]);
  }
  const named = allowed.filter(
    (rel) =>
      !editable.includes(rel) &&
      (words.has(rel) || (words.has(path.posix.basename(rel)) && byBase.get(path.posix.basename(rel))!.length === 1)),
  );
  if (named.length === 0) return [];
  const unfit = await filesHoldingCredentials(root, named);
  return named.filter((rel) => (unfit.get(rel) ?? []).length > 0);
}

/** `.aiderignore` text (gitignore syntax, read by Aider with pathspec): everything but `allowed`. */
export function renderAiderIgnore(allowed: string[]): string {
  const lines = ['# written by ai-dev-bot for one Aider run: only the files below may be seen', '*'];
  for (const rel of allowed) {
    // A name with a line break cannot be written as a pattern; leaving it ignored is the safe side.
    if (/[\r\n]/.test(rel)) continue;
    lines.push(`!/${rel.replace(/[\\*?[\]]/g, '\\$&').replace(/ $/, '\\ ')}`);
  }
  return `${lines.join('\n')}\n`;
}
