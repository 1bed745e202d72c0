#!/usr/bin/env node
// The dashboard tests drive Debian's `chromium` with playwright-core (Playwright's own browser
// download cannot work here: only package registries are reachable). Installed with apt-get when
// /usr/bin/chromium is absent; nothing is done when it is there.
import { existsSync } from 'node:fs';
import { aptInstall } from './apt-install.mjs';

export const CHROMIUM = '/usr/bin/chromium';

/** The path of Debian's chromium, installing the package first when it is missing. */
export function ensureChromium() {
  if (!existsSync(CHROMIUM)) {
    aptInstall('chromium', 'the dashboard tests drive it with playwright-core');
    if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
  }
  return CHROMIUM;
}
