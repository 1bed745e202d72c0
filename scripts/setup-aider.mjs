#!/usr/bin/env node
// `npm run setup-aider`: installs the pinned Aider (aider-chat, from PyPI) into <project>/.venv/aider,
// for the tests and for developers. Reused when the venv already holds the pinned version.
// Takes about a minute on a 2-core machine with PyPI reachable; the test setup runs it when missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const AIDER_VERSION = '0.86.2';
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const venvDir = path.join(projectRoot, '.venv', 'aider');
export const aiderBin = path.join(venvDir, process.platform === 'win32' ? 'Scripts' : 'bin', 'aider');

const INSTALL_HINT =
  `Install it yourself with Python 3.10–3.12:\n` +
  `  python3 -m venv ${venvDir} && ${venvDir}/bin/python -m pip install aider-chat==${AIDER_VERSION}\n` +
  `or point AIDER_BIN at an existing aider ${AIDER_VERSION} (e.g. from \`pipx install aider-chat==${AIDER_VERSION}\`).`;

function installedVersion() {
  if (!existsSync(aiderBin)) return undefined;
  const res = spawnSync(aiderBin, ['--version'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return /aider\s+v?(\d+\.\d+\.\d+)/.exec(res.stdout ?? '')?.[1];
}

/** A Python that aider-chat 0.86 supports (>= 3.10, < 3.13). */
function findPython() {
  const candidates = [process.env.AIDER_PYTHON, 'python3.12', 'python3.11', 'python3.10', 'python3'].filter(Boolean);
  for (const candidate of candidates) {
    const res = spawnSync(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [major, minor] = (res.stdout ?? '').trim().split('.').map(Number);
    if (res.status === 0 && major === 3 && minor >= 10 && minor <= 12) return candidate;
  }
  return undefined;
}

/** Ensures the pinned Aider is installed; returns the path of its executable. Throws with a hint on failure. */
export function ensureAider({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  if (installedVersion() === AIDER_VERSION) return aiderBin;
  const python = findPython();
  if (!python) throw new Error(`setup-aider: no Python 3.10–3.12 found on PATH (set AIDER_PYTHON).\n${INSTALL_HINT}`);
  log(
    `setup-aider: installing aider-chat==${AIDER_VERSION} into ${path.relative(projectRoot, venvDir)} (about a minute)…`,
  );
  const started = Date.now();
  try {
    rmSync(venvDir, { recursive: true, force: true });
    mkdirSync(path.dirname(venvDir), { recursive: true });
    execFileSync(python, ['-m', 'venv', venvDir], { stdio: ['ignore', 'inherit', 'inherit'] });
    const venvPython = path.join(venvDir, 'bin', 'python');
    execFileSync(
      venvPython,
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', `aider-chat==${AIDER_VERSION}`],
      { stdio: ['ignore', 'inherit', 'inherit'], timeout: 30 * 60_000 },
    );
  } catch (error) {
    rmSync(venvDir, { recursive: true, force: true });
    throw new Error(`setup-aider: installing aider-chat failed: ${error.message}\n${INSTALL_HINT}`);
  }
  const version = installedVersion();
  if (version !== AIDER_VERSION) {
    throw new Error(
      `setup-aider: ${aiderBin} reports version ${version ?? '(none)'}, expected ${AIDER_VERSION}.\n${INSTALL_HINT}`,
    );
  }
  writeFileSync(path.join(venvDir, 'INSTALLED_BY'), `scripts/setup-aider.mjs ${new Date().toISOString()}\n`);
  log(`setup-aider: aider ${version} ready in ${((Date.now() - started) / 1000).toFixed(0)} s: ${aiderBin}`);
  return aiderBin;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const bin = ensureAider();
    process.stdout.write(`${bin}\nUse it with: export AIDER_BIN=${bin}\n`);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
