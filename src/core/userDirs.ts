import os from 'node:os';
import path from 'node:path';

const DEFAULT_BASES = { config: '.config', data: path.join('.local', 'share'), cache: '.cache' } as const;

/**
 * `$XDG_<KIND>_HOME/ai-dev-bot`, else the XDG default under the home directory. Read from `env`
 * so tests and child processes can point it elsewhere (env-paths reads process.env only and
 * picks ~/Library on macOS, where our README promises the XDG paths).
 */
export function userDir(kind: keyof typeof DEFAULT_BASES, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[`XDG_${kind.toUpperCase()}_HOME`];
  // The XDG spec: a relative value is invalid and is ignored.
  const base = value && path.isAbsolute(value) ? value : path.join(env.HOME || os.homedir(), DEFAULT_BASES[kind]);
  return path.join(base, 'ai-dev-bot');
}
