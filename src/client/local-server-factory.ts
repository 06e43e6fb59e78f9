/** Makes the LocalServer for a target (kept apart from local-server.ts, which the implementations import). */
import type { LocalServerFactory } from './local-server.js';
import { HttpLocalServer } from './local-http-server.js';
import { StdioLocalServer, type StdioServerOptions } from './local-stdio-server.js';

export interface LocalServerFactoryOptions {
  stdio?: StdioServerOptions;
}

export function localServerFactory(options: LocalServerFactoryOptions = {}): LocalServerFactory {
  return (target) => (target.kind === 'stdio' ? new StdioLocalServer(target, options.stdio) : new HttpLocalServer(target));
}
