import { styleText } from 'node:util';

/**
 * What the terminal around us allows: colour (NO_COLOR / FORCE_COLOR, https://no-color.org and
 * https://force-color.org) and whether anyone can answer a question (CI, no TTY on stdin).
 */

type Env = NodeJS.ProcessEnv;

/** CI=true (GitHub Actions, GitLab, most runners); CI=false or CI=0 is a developer opting out. */
export function isCi(env: Env = process.env): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/** FORCE_COLOR (non-zero) wins, then NO_COLOR, then: colour only on a terminal that is not dumb. */
export function colorEnabled(streamIsTTY: boolean, env: Env = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  if (env.NO_COLOR) return false;
  return streamIsTTY && env.TERM !== 'dumb';
}

/**
 * ink draws with chalk, which reads FORCE_COLOR but not NO_COLOR: translate NO_COLOR for it, once,
 * before any view is loaded.
 */
export function applyNoColorForChalk(env: Env = process.env): void {
  if (env.NO_COLOR && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '0';
}

export type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan';

/** Styles text when colour is on; otherwise returns it untouched (no ANSI bytes at all). */
export function painter(enabled: boolean): (style: Style, text: string) => string {
  // The decision above is the only gate: newer Node versions would check process.stdout again
  // (and miss FORCE_COLOR for a view on stderr), older ones ignore the option.
  return enabled ? (style, text) => styleText(style, text, { validateStream: false }) : (_style, text) => text;
}

/** Nobody can answer a question: --yes already did, CI=true, or stdin is not a terminal. */
export function unattended(yes: boolean, env: Env = process.env, stdinIsTTY = Boolean(process.stdin.isTTY)): boolean {
  return yes || isCi(env) || !stdinIsTTY;
}
