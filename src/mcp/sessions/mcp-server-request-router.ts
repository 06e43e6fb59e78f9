import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { JsonRpcErrorCode, jsonRpcError, type JsonRpcId, type JsonRpcRequest, type JsonRpcResponse } from '../../protocol/json-rpc.js';
import type { InFlightCall } from '../../reverse-proxy/tunnel/call-context.js';
import { CallError } from '../../reverse-proxy/tunnel/pending-calls.js';
import { publishAsEvent, type RequestingTunnel, type ServerRequestRouter } from '../../reverse-proxy/tunnel/server-request-router.js';
import { RelayedCaller } from '../../reverse-proxy/cluster/relayed-caller.js';
import { SessionRegistry, type RelayedAsk } from '../../reverse-proxy/tunnel/session-registry.js';
import { McpClientSession } from './mcp-client-session.js';
import { McpSessionStore } from './mcp-session-store.service.js';
import { StatelessCaller } from '../stateless/stateless-caller.js';

/**
 * `_meta` key a server (or its tunnel client) may set on a request to the client, naming the
 * request it acts for (the id the server received, e.g. `gw-17`). The SDK has no standard key for
 * this, so without it the most recent caller is chosen.
 */
export const RELATED_REQUEST_META_KEY = 'io.modelcontextprotocol/related-request-id';

type Target =
  | { kind: 'client'; session: McpClientSession; relatedRequestId: JsonRpcId }
  /** A 2026-07-28 client: the question travels in-band, as `input_required` on its call. */
  | { kind: 'stateless'; caller: StatelessCaller }
  /** A caller on another replica (cluster mode): the question travels there, the answer comes back as a forwarded message. */
  | { kind: 'relayed'; caller: RelayedCaller }
  /** Leave it to the REST/SSE door (a REST call is in flight, or no MCP client uses this server). */
  | { kind: 'events' }
  | { kind: 'nobody' };

/**
 * Routes the server's own requests (sampling, elicitation, roots, ping) to the MCP client whose
 * request is in flight: the one the request names, else the most recent caller that declared the
 * needed capability. Nobody able to answer gets the server a JSON-RPC error, never silence.
 */
@Injectable()
export class McpServerRequestRouter implements ServerRequestRouter, OnModuleInit {
  private readonly logger = new Logger('McpServerRequests');

  constructor(
    private readonly sessions: McpSessionStore,
    private readonly registry: SessionRegistry,
  ) {}

  onModuleInit(): void {
    this.registry.handleRelayedAsksWith((ask, reply) => this.answerRelayed(ask, reply));
  }

  /**
   * The other half of a `relayed` target, on the caller's replica: the server's request goes to the
   * caller (an MCP client session, or a stateless one in-band) and its answer back to the tunnel.
   */
  answerRelayed(ask: RelayedAsk, reply: (answer: JsonRpcResponse) => void): void {
    const { caller, request } = ask;
    if (caller instanceof McpClientSession && caller.isOpen && caller.canAnswer(request.method)) {
      caller.ask(request, ask.tunnelId, ask.relatedRequestId).then(reply, (err: unknown) => {
        if (err instanceof CallError && err.reason === 'cancelled') return;
        reply(jsonRpcError(request.id, JsonRpcErrorCode.InternalError, `The MCP client did not answer: ${(err as Error).message}`));
      });
      return;
    }
    if (caller instanceof StatelessCaller && caller.canAnswer(request.method)) {
      caller.ask(request);
      return;
    }
    reply(
      jsonRpcError(
        request.id,
        JsonRpcErrorCode.MethodNotFound,
        `No client connected through the gateway can handle ${request.method} right now`,
      ),
    );
  }

  route(request: JsonRpcRequest, tunnel: RequestingTunnel): void {
    const target = this.pick(request, tunnel);
    switch (target.kind) {
      case 'events':
        publishAsEvent.route(request, tunnel);
        return;
      case 'client':
        target.session.ask(request, tunnel.id, target.relatedRequestId).then(
          (answer) => reply(tunnel, answer),
          (err: unknown) =>
            err instanceof CallError && err.reason === 'cancelled'
              ? undefined
              : reply(
                  tunnel,
                  jsonRpcError(request.id, JsonRpcErrorCode.InternalError, `The MCP client did not answer: ${(err as Error).message}`),
                ),
        );
        return;
      case 'stateless':
        target.caller.ask(request);
        return;
      case 'relayed':
        target.caller.ask(request);
        return;
      case 'nobody':
        // A ping only asks whether the other side is alive, and the gateway is.
        if (request.method === 'ping') return reply(tunnel, { jsonrpc: '2.0', id: request.id, result: {} });
        this.logger.debug({ msg: 'No MCP client can take a server request', method: request.method, server: tunnel.name });
        reply(
          tunnel,
          jsonRpcError(
            request.id,
            JsonRpcErrorCode.MethodNotFound,
            `No client connected through the gateway can handle ${request.method} right now`,
          ),
        );
    }
  }

  private pick(request: JsonRpcRequest, tunnel: RequestingTunnel): Target {
    const linked = relatedRequestOf(request);
    const linkedCall = linked === undefined ? undefined : tunnel.inFlightCall(linked);
    if (linkedCall) return this.targetOf(linkedCall, request.method) ?? { kind: 'nobody' };
    const calls = tunnel.inFlight();
    for (const call of calls) {
      const target = this.targetOf(call, request.method);
      if (target?.kind === 'client' || target?.kind === 'stateless' || target?.kind === 'relayed') return target;
    }
    if (calls.some((call) => call.context.caller === undefined)) return { kind: 'events' };
    const mcpCallers =
      this.sessions.ofServer(tunnel.name ?? '').length > 0 || calls.some((call) => call.context.caller instanceof StatelessCaller);
    if (!mcpCallers) return { kind: 'events' };
    return { kind: 'nobody' };
  }

  private targetOf(call: InFlightCall, method: string): Target | undefined {
    const caller = call.context.caller;
    if (caller === undefined) return { kind: 'events' };
    if (caller instanceof McpClientSession && caller.isOpen && caller.canAnswer(method)) {
      return { kind: 'client', session: caller, relatedRequestId: call.callerRequestId };
    }
    if (caller instanceof StatelessCaller && caller.canAnswer(method)) return { kind: 'stateless', caller };
    if (caller instanceof RelayedCaller && caller.canAnswer(method)) return { kind: 'relayed', caller };
    return undefined;
  }
}

function relatedRequestOf(request: JsonRpcRequest): string | undefined {
  const meta = (request.params as Record<string, unknown> | undefined)?._meta;
  const link = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)[RELATED_REQUEST_META_KEY] : undefined;
  return typeof link === 'string' ? link : undefined;
}

/** A tunnel that closed while the client was answering is ignored: the server is gone with it. */
function reply(tunnel: RequestingTunnel, answer: JsonRpcResponse): void {
  tunnel.tryForward(answer);
}
