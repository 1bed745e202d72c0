#!/usr/bin/env node
// Thin shim: the team ledger server ships as one esbuild bundle, like the CLI.
import('../dist/server.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/server.js')) {
    process.stderr.write('ai-dev-bot-server: not built. Run `npm run build` in the package folder.\n');
    process.exit(1);
  }
  throw err;
});
