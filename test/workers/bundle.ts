import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Bundles a TypeScript worker into plain ESM that `node` can run as a child process. The output
 * sits under node_modules/.cache so native externals (better-sqlite3) resolve from the project.
 * Code splitting is on, as in scripts/build.mjs: a dynamic import of a CommonJS package then behaves
 * as it does in the published bundle (only `default`), not as under Node's own loader.
 */
export async function bundleWorker(entry: string, name: string): Promise<string> {
  const cacheDir = path.join(root, 'node_modules', '.cache', 'ai-dev-bot-tests');
  mkdirSync(cacheDir, { recursive: true });
  const outdir = path.join(cacheDir, `${name}-${process.pid}`);
  await build({
    entryPoints: { [name]: path.join(root, entry) },
    outdir,
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // write-file-atomic uses CommonJS __filename, undefined in an ESM bundle (as in scripts/build.mjs).
    external: ['better-sqlite3', 'write-file-atomic'],
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return path.join(outdir, `${name}.js`);
}
