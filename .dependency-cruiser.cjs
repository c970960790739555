/**
 * The allowed directions between the layers (README, "Architecture"). Every import
 * between the project's folders must match one `allowed` rule; anything else (an
 * upward import) fails `npm test`, as does any import cycle.
 *
 *   entry points   api/  workers/  scripts/
 *   application    clients/  subscribers/  activities/
 *   integration    events/  venue/
 *   infrastructure persistence/  messaging/
 *   orchestration  workflows/            (deterministic: domain only)
 *   foundation     domain/  config/  runtime/
 */
const layer = {
  domain: '^domain/',
  config: '^config/',
  runtime: '^runtime/',
  workflows: '^workflows/',
  persistence: '^persistence/',
  messaging: '^messaging/',
  events: '^events/',
  venue: '^venue/',
  activities: '^activities/',
  clients: '^clients/',
  subscribers: '^subscribers/',
  api: '^api/',
  workers: '^workers/',
  scripts: '^scripts/',
};
const any = (...names) => names.map((n) => layer[n]);
const project = Object.values(layer);

/** from layer -> the layers it may import (besides itself and node_modules). */
const may = {
  domain: [],
  config: [],
  runtime: ['config'],
  workflows: ['domain'],
  persistence: ['domain', 'runtime', 'config'],
  messaging: ['runtime', 'config'],
  events: ['domain', 'runtime', 'config', 'persistence', 'messaging'],
  venue: ['domain', 'runtime', 'config', 'persistence'],
  activities: ['domain', 'runtime', 'config', 'workflows', 'persistence', 'events', 'venue'],
  clients: ['domain', 'runtime', 'config', 'workflows', 'persistence'],
  subscribers: ['domain', 'runtime', 'config', 'persistence', 'messaging', 'events'],
  api: ['domain', 'runtime', 'config', 'workflows', 'persistence', 'messaging', 'events', 'venue', 'activities', 'clients', 'subscribers'],
  workers: ['domain', 'runtime', 'config', 'workflows', 'persistence', 'messaging', 'events', 'venue', 'activities', 'clients', 'subscribers'],
  scripts: Object.keys(layer),
};

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import cycle', from: {}, to: { circular: true } },
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment: 'every source file belongs to a layer listed in .dependency-cruiser.cjs',
      from: { path: '^(?!test/)[^/]+/', pathNot: project },
      to: {},
    },
  ],
  allowed: [
    { comment: 'libraries and Node built-ins', from: {}, to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'core'] } },
    { comment: 'tests may import anything', from: { path: '^test/' }, to: {} },
    ...Object.entries(may).map(([from, to]) => ({
      comment: `${from} may import ${[from, ...to].join(', ')}`,
      from: { path: layer[from] },
      to: { path: any(from, ...to) },
    })),
  ],
  allowedSeverity: 'error',
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|\\.data)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
