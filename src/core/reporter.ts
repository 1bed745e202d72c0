/**
 * How core code talks to the user without knowing about terminals: the CLI supplies an
 * implementation (plain stderr lines, ink views, or silence for --json/--quiet).
 */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export const silentReporter: Reporter = {
  info() {},
  warn() {},
  debug() {},
};
