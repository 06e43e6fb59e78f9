import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { jsonRpcError, type JsonRpcRequest, type JsonRpcResponse } from '../protocol/json-rpc.js';
import { CALL_FAILURES, CallError } from '../reverse-proxy/tunnel/call-error.js';
import { SessionRegistry } from '../reverse-proxy/tunnel/session-registry.js';
import type { SessionHandle, TunnelHandle } from '../reverse-proxy/tunnel/tunnel-handle.js';
import type { McpClientSession } from './sessions/mcp-client-session.js';
import { ServerCatalog } from './catalog/server-catalog.service.js';

/**
 * Carries a client's request down the tunnel that currently serves its session's name and its
 * answer back. Ids and progress tokens are rewritten by the tunnel session itself.
 */
@Injectable()
export class TunnelRelay {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly catalog: ServerCatalog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * The ready tunnel serving this session's name, if it is still run by the same owner (a name
   * freed and taken by someone else must not inherit the old owner's clients).
   */
  tunnelOf(session: McpClientSession): TunnelHandle | undefined {
    const tunnel = this.registry.readyByName(session.serverName);
    if (!tunnel || tunnel.owner !== session.server.owner) return undefined;
    return tunnel;
  }

  /**
   * Relays one request and sends the client its answer (or a JSON-RPC error). Resolves with the
   * answer, or undefined when there was none to send (no tunnel, failure, or cancelled by the client).
   */
  async relay(session: McpClientSession, request: JsonRpcRequest): Promise<JsonRpcResponse | undefined> {
    const tunnel = this.tunnelOf(session);
    if (!tunnel) {
      await session.send(
        jsonRpcError(request.id, CALL_FAILURES.closed.jsonRpcCode, `Server "${session.serverName}" is not connected to the gateway`),
      );
      return undefined;
    }
    try {
      const door = session.kind === 'sse' ? 'sse' : 'mcp';
      const answer = await this.metrics.timeCall(door, () => tunnel.call(request, this.config.requests.defaultTimeoutMs, session));
      this.catalog.observe(tunnel, request, answer);
      await session.send(answer);
      return answer;
    } catch (err) {
      if (!(err instanceof CallError)) throw err;
      // The client withdrew the request; MCP says no answer follows a cancellation.
      if (err.reason === 'cancelled') {
        session.endWithoutAnswer(request.id);
        return undefined;
      }
      await session.send(jsonRpcError(request.id, CALL_FAILURES[err.reason].jsonRpcCode, err.message));
      return undefined;
    }
  }

  /** A request of the gateway's own (e.g. re-subscribing a resource); the answer is not needed. */
  fireAndForget(tunnel: SessionHandle, request: Omit<JsonRpcRequest, 'id'>, id: string): void {
    try {
      tunnel.call({ ...request, id }, this.config.requests.defaultTimeoutMs).catch(() => undefined);
    } catch {
      // Busy: the subscription is restored by the next client that subscribes.
    }
  }
}
