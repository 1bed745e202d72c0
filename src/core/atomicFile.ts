import { lstatSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import writeFileAtomicSync from 'write-file-atomic';
import { AppError } from './errors.js';

/**
 * Writes `content` to `file` so that a reader or a crash (kill -9, power loss) sees the old file or
 * the new one, never a mix: write-file-atomic writes a temp file beside it, fsyncs, keeps the
 * replaced file's mode and renames it over. It writes through a symlink to its target, so a link
 * is refused: a repository's TODO.md linked to ~/.bashrc must not get the plan written into it.
 */
export function writeFileAtomic(file: string, content: string): void {
  if (isSymlink(file))
    throw new AppError(
      'bad_argument',
      `${file} is a symbolic link; ai-dev-bot does not write through links.`,
      `Replace the link with a regular file (e.g. \`cp --remove-destination "$(readlink -f ${file})" ${file}\`), then run the command again.`,
    );
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync.sync(file, content);
}

function isSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
