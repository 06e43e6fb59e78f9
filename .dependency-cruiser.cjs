/**
 * Layer rules of docs/architecture.md ("Layers"): each layer imports only from the layers below it.
 * 1 src/protocol · 2 src/config, src/auth, src/metrics · 3 src/reverse-proxy · 4 src/mcp · 5 wiring (src/health,
 * src/lifecycle, src/common, src/console, src/*.ts). src/client (the tunnel CLI) stands aside and uses protocol only;
 * so does console/src (the admin console's browser code), which the gateway never imports.
 * `npm run check:layers`; CI runs it (.ci/run).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'Every import resolves (a typo would otherwise hide a dependency from the other rules).',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'protocol-imports-nothing-of-ours',
      severity: 'error',
      comment: 'Layer 1: src/protocol imports only node: builtins and packages.',
      from: { path: '^src/protocol/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/protocol/' },
    },
    {
      name: 'protocol-and-client-not-nest',
      severity: 'error',
      comment: 'src/protocol and the tunnel client never load Nest.',
      from: { path: '^src/(protocol|client)/' },
      to: { path: '(^|/)node_modules/@nestjs/' },
    },
    {
      name: 'client-imports-protocol-only',
      severity: 'error',
      comment: 'The tunnel client CLI is built on src/protocol only.',
      from: { path: '^src/client/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/(client|protocol)/' },
    },
    {
      name: 'config-imports-protocol-only',
      severity: 'error',
      comment: 'Layer 2: src/config imports only src/protocol.',
      from: { path: '^src/config/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/(config|protocol)/' },
    },
    {
      name: 'auth-imports-config-and-protocol-only',
      severity: 'error',
      comment: 'Layer 2: src/auth imports only src/config and src/protocol.',
      from: { path: '^src/auth/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/(auth|config|protocol)/' },
    },
    {
      name: 'metrics-imports-config-only',
      severity: 'error',
      comment: 'Layer 2: src/metrics imports only src/config; what it counts tells it (verbs) or is read through callbacks (watch…).',
      from: { path: '^src/metrics/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/(metrics|config)/' },
    },
    {
      name: 'reverse-proxy-imports-layers-1-2-only',
      severity: 'error',
      comment: 'Layer 3: src/reverse-proxy never imports src/mcp, src/health, src/lifecycle, src/common or the app wiring.',
      from: { path: '^src/reverse-proxy/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/(reverse-proxy|auth|config|metrics|protocol)/' },
    },
    {
      name: 'tunnel-core-not-admin',
      severity: 'error',
      comment: 'Inside layer 3: the tunnel core (reverse-proxy/tunnel) never imports the admin API built on it.',
      from: { path: '^src/reverse-proxy/tunnel/' },
      to: { path: '^src/reverse-proxy/admin/' },
    },
    {
      name: 'cluster-not-admin',
      severity: 'error',
      comment: 'Inside layer 3: the cluster directory (reverse-proxy/cluster) may build on the tunnel core, never on the admin API.',
      from: { path: '^src/reverse-proxy/cluster/' },
      to: { path: '^src/reverse-proxy/admin/' },
    },
    {
      name: 'mcp-http-plumbing-stands-alone',
      severity: 'error',
      comment: 'Inside layer 4: the Node HTTP exchange and the doors\' guards (mcp/http) know no MCP session or revision.',
      from: { path: '^src/mcp/http/' },
      to: { path: '^src/mcp/', pathNot: '^src/mcp/http/' },
    },
    {
      name: 'mcp-imports-layers-1-3-only',
      severity: 'error',
      comment: 'Layer 4: src/mcp never imports layer 5 (src/health, src/lifecycle, src/common, the app wiring).',
      from: { path: '^src/mcp/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/(mcp|reverse-proxy|auth|config|metrics|protocol)/' },
    },
    {
      name: 'gateway-not-client',
      severity: 'error',
      comment: 'The gateway never loads the tunnel client CLI (or the token tool).',
      from: { path: '^src/', pathNot: '^src/(client|tools)/' },
      to: { path: '^src/(client|tools)/' },
    },
    {
      name: 'console-ui-imports-protocol-only',
      severity: 'error',
      comment: "The console's browser code (console/src) is built on src/protocol only: nothing of the gateway or the CLI in the page.",
      from: { path: '^console/src/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/protocol/' },
    },
    {
      name: 'gateway-not-console-ui',
      severity: 'error',
      comment: 'The gateway serves the built console (dist/console-ui) and never imports its source.',
      from: { path: '^src/' },
      to: { path: '^console/' },
    },
    {
      name: 'src-not-tests',
      severity: 'error',
      comment: 'Shipped code never imports tests or benchmarks.',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    // Type-only imports count: `import type` cycles and layer breaks are caught too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
