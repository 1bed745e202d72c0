import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AppError, ExitCode } from '../errors.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One index writer per repository. A lock left by a killed process (its pid is gone) is taken over,
 * so kill -9 never blocks the next run.
 */
export function acquireIndexLock(indexDir: string): () => void {
  const file = path.join(indexDir, 'index.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      if (Number.isFinite(owner) && owner !== process.pid && isAlive(owner)) {
        throw new AppError(
          'bad_argument',
          ExitCode.usage,
          `Another ai-dev-bot process (pid ${owner}) is indexing this repository.`,
          `Wait for it to finish, or remove ${file} if that process is not ai-dev-bot.`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new AppError('internal', ExitCode.internal, `Could not take the index lock ${file}.`);
}
