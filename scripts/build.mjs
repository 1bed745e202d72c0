// Bundles each entry point into one ESM file under dist/. Bundling matters for start-up:
// ink + react cost ~600 ms unbundled and ~200 ms bundled (DESIGN §9). Native addons stay external.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const entries = {
  cli: 'src/cli/main.ts',
  'fetch-model': 'src/cli/fetch-model.ts',
  server: 'src/server/main.ts',
  // Loaded with new Worker() by model/workerEmbedder.ts, which looks for it next to the bundle.
  'inference-worker': 'src/core/index/model/inferenceWorker.ts',
  // Tokenizes a cold search's query while the main thread loads the ONNX session (model/queryTokens.ts).
  'tokenizer-worker': 'src/core/index/model/tokenizerWorker.ts',
};

// Benchmarks (scripts/bench/*.ts) import src/core directly and are bundled the same way.
for (const file of readdirSync('scripts/bench')) {
  if (file.endsWith('.ts')) entries[`bench/${file.slice(0, -3)}`] = `scripts/bench/${file}`;
}

const entryPoints = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file)));

// zod's `z` namespace re-exports every message locale (`z.locales`, ~300 KB of source) that no code
// here reads; English stays (schemas.js imports it directly). Saves compiling them on every start.
const zodLocalesUnused = {
  name: 'zod-locales-unused',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}zod${path.sep}`)
        ? { path: 'zod-locales', namespace: 'unused' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'unused' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

const result = await build({
  plugins: [zodLocalesUnused],
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  legalComments: 'none',
  external: [
    'better-sqlite3',
    'hnswlib-node',
    'onnxruntime-node',
    '@huggingface/transformers',
    'react-devtools-core',
    'pg',
    'pg-native',
    // Seeds its temp-file names with CommonJS __filename, which an ESM bundle does not define.
    'write-file-atomic',
  ],
  // Bundled CommonJS dependencies call require(); give them one in the ESM output.
  banner: {
    js: "import { createRequire as __aidbCreateRequire } from 'node:module'; const require = __aidbCreateRequire(import.meta.url);",
  },
  define: { 'process.env.NODE_ENV': '"production"' },
  metafile: true,
});

// The team dashboard's browser assets (chart.js and the stylesheet), bundled here so the server
// serves them itself: no CDN, works offline. The server hashes them at start for immutable URLs.
const dashboard = await build({
  entryPoints: {
    charts: 'src/server/dashboard/browser/charts.ts',
    dashboard: 'src/server/dashboard/browser/dashboard.css',
  },
  outdir: 'dist/dashboard',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  logLevel: 'warning',
  legalComments: 'linked',
  metafile: true,
});

// Remove chunks of earlier builds only now, so a CLI running during a rebuild never finds dist/ empty.
const written = new Set(
  [result, dashboard].flatMap((r) => Object.keys(r.metafile.outputs)).map((file) => path.resolve(file)),
);
const prune = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.resolve(dir, entry.name);
    if (entry.isDirectory()) prune(file);
    else if (!written.has(file)) rmSync(file);
  }
};
prune('dist');
