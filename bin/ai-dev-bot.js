#!/usr/bin/env node
// Thin shim: the CLI ships as one esbuild bundle so start-up stays fast.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    process.stderr.write('ai-dev-bot: the CLI is not built. Run `npm run build` in the package folder.\n');
    process.exit(1);
  }
  throw err;
});
