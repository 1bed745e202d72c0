/**
 * Import rules checked by `npm run lint` (depcruise src): no cycles, type-only imports included
 * (tsPreCompilationDeps), and the layering of DESIGN §2: src/cli → src/core ← src/server.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle (type-only ones count) ties modules together: break it by moving the shared type down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-not-to-cli',
      severity: 'error',
      comment: 'src/core never imports src/cli: declare the interface core needs in core; the CLI implements it.',
      from: { path: '^src/core/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'server-not-to-cli',
      severity: 'error',
      comment: 'src/server uses src/core, never src/cli.',
      from: { path: '^src/server/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'core-not-to-server',
      severity: 'error',
      comment: 'src/core never imports src/server: the server builds on core.',
      from: { path: '^src/core/' },
      to: { path: '^src/server/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too: a cycle through them still couples the modules.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
