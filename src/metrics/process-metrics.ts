import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

/**
 * prom-client's default metrics (CPU, memory, heap, event loop lag, GC, handles, Node version), in
 * one registry per process, made on first use. They describe the process, not one app in it, and
 * each collection installs a GC observer and an event-loop monitor that cannot be stopped: several
 * gateways in one process (the e2e tests) share this one rather than add a set each.
 */
export function processMetrics(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
