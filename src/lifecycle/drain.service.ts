import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { CallError } from '../reverse-proxy/tunnel/pending-calls.js';
import { SessionRegistry } from '../reverse-proxy/tunnel/session-registry.js';
import { SHUTTING_DOWN, ShutdownState } from './shutdown-state.js';

/** How often the drain looks whether the calls in flight are done. */
const POLL_MS = 20;
/**
 * Time the answers of abandoned calls get to reach their callers before the HTTP server closes
 * every connection (MCP answers are held up to 20 ms by hold-response-writes).
 */
const FLUSH_MS = 200;

/**
 * Drains the gateway on shutdown (SIGTERM, or app.close() in tests): readiness fails and new
 * requests and tunnels are refused at once, calls in flight get SHUTDOWN_GRACE_MS to finish, the
 * rest are failed with CallError('shutdown') so their callers get an answer (REST 503, MCP a
 * JSON-RPC error) while their connections are still open. Then the doors close their sessions and
 * the tunnel gateway closes the tunnels with 1012 (restarting: clients reconnect at once).
 *
 * It runs in onModuleDestroy, not beforeApplicationShutdown: Nest runs every onModuleDestroy first,
 * and the tunnel gateway and the MCP session store close their sessions there. Provided by the root
 * module, whose hooks run before those of the modules it imports.
 */
@Injectable()
export class DrainService implements OnModuleDestroy {
  private readonly logger = new Logger('Drain');

  constructor(
    private readonly state: ShutdownState,
    private readonly registry: SessionRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Runs the drain; see the class comment. */
  async onModuleDestroy(): Promise<void> {
    if (this.state.draining) return;
    this.state.begin();
    const graceMs = this.config.shutdown.graceMs;
    const atStart = this.callsInFlight();
    this.logger.log({ msg: 'Draining', callsInFlight: atStart, graceMs });
    const deadline = Date.now() + graceMs;
    while (this.callsInFlight() > 0 && Date.now() < deadline) await sleep(Math.min(POLL_MS, deadline - Date.now()));
    const abandoned = this.registry.abandonCalls(new CallError('shutdown', SHUTTING_DOWN));
    if (abandoned > 0) {
      this.logger.warn({ msg: 'Calls still in flight after the grace period were answered with an error', abandoned });
    }
    // Answers given during the drain, real or errors, still have to leave before connections are cut.
    if (atStart > 0) await sleep(FLUSH_MS);
  }

  private callsInFlight(): number {
    return this.registry.callsInFlight();
  }
}
