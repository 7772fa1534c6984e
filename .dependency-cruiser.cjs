/* global module */
// Import rules of the codebase, checked by `npm run lint:deps` (dependency-cruiser).
// The direction: api → services → temporal, db; worker → activities → services, powerschool, db,
// email; workflows → @temporalio/workflow, shared/codes.ts and types only; shared/ imports nothing.
// Dev tools (test/, bench/, scripts/, simulator/) may import production code, never the other way round.

const PRODUCTION =
  '^(api|activities|workflows|temporal|services|db|email|powerschool|secrets|logging|shared|worker)/|^config\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules own one idea; split out what both need.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'workflows-deterministic',
      severity: 'error',
      comment:
        'Workflow code runs in the deterministic sandbox: it may import @temporalio/workflow, workflows/ and the import-free shared/codes.ts only; anything else by `import type`.',
      from: { path: '^workflows/' },
      to: {
        pathNot: ['^workflows/', '^shared/codes\\.ts$', '^node_modules/@temporalio/workflow/'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'temporal-not-db',
      severity: 'error',
      comment: 'temporal/ adapts Temporal; what needs the database belongs in services/.',
      from: { path: '^temporal/' },
      to: { path: '^db/' },
    },
    {
      name: 'shared-imports-nothing',
      severity: 'error',
      comment: 'shared/ holds definitions every layer (the workflow sandbox included) reads: it depends on nothing.',
      from: { path: '^shared/' },
      to: { pathNot: '^shared/' },
    },
    {
      name: 'api-not-worker-side',
      severity: 'error',
      comment: 'The API starts and reads runs through services/; activities and the worker run in the worker process.',
      from: { path: '^api/' },
      to: { path: '^(activities|worker)/' },
    },
    {
      name: 'production-not-dev-tools',
      severity: 'error',
      comment: 'Shipped code must not depend on tests, benchmarks, dev scripts or the simulator.',
      from: { path: PRODUCTION },
      to: { path: '^(test|bench|scripts|simulator)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      // The generated-client program imports ./schema.js, which its test generates from /openapi.json.
      from: { pathNot: '^test/api/openapi-client/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|coverage|\\.data)/' },
    // Sees `import type` too, so the workflows rule can tell type-only imports apart.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
