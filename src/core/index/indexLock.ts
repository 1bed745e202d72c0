import path from 'node:path';
import { AppError } from '../errors.js';
import { tryPidLock } from '../pidLock.js';

/**
 * One index writer per repository. A lock left by a killed process (its pid is gone) is taken over,
 * so kill -9 never blocks the next run.
 */
export function acquireIndexLock(indexDir: string): () => void {
  const file = path.join(indexDir, 'index.lock');
  const got = tryPidLock(file, 'index');
  if ('release' in got) return got.release;
  throw new AppError(
    'bad_argument',
    `Another ai-dev-bot process (pid ${got.holder.pid}) is indexing this repository.`,
    `Wait for it to finish, or remove ${file} if that process is not ai-dev-bot.`,
  );
}
