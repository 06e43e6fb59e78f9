import { JsonRpcErrorCode, jsonRpcError, type JsonRpcMessage, type JsonRpcRequest } from '../../protocol/json-rpc.js';
import type { InFlightCall } from './call-context.js';
import type { SessionEvent } from './session-event.js';

/**
 * What a router uses of the tunnel a request came through: the tunnel endpoint's side of a
 * TunnelSession (declared here so that this module and tunnel-session.ts do not import each other).
 * Routers run where the tunnel is, next to its correlation table.
 */
export interface RequestingTunnel {
  readonly id: string;
  readonly name: string | undefined;
  readonly isOpen: boolean;
  /** Whether an SSE stream follows the session. */
  readonly hasStreamSubscribers: boolean;
  publish(event: SessionEvent): void;
  /** Sends an answer to the server; a closed tunnel is ignored. Returns whether it was sent. */
  tryForward(payload: JsonRpcMessage): boolean;
  /** Calls in flight, most recent first. */
  inFlight(): InFlightCall[];
  /** The call in flight under this tunnel id. */
  inFlightCall(tunnelId: string): InFlightCall | undefined;
}

/**
 * Decides who answers a request the local server sends to its client (sampling, elicitation,
 * roots, ping). A door that knows better than "publish it" (the MCP door) installs its own.
 */
export interface ServerRequestRouter {
  route(request: JsonRpcRequest, tunnel: RequestingTunnel): void;
}

/**
 * The REST/SSE door's behaviour: publish the request as a `request` event for SSE subscribers to
 * answer through POST .../request. With no subscriber nobody could answer, so the server gets an
 * error at once instead of waiting out its own timeout (a ping is answered: the gateway is alive).
 */
export const publishAsEvent: ServerRequestRouter = {
  route(request, tunnel) {
    if (tunnel.hasStreamSubscribers) {
      tunnel.publish({ type: 'request', payload: request });
      return;
    }
    // A tunnel closed meanwhile is ignored: the server went with it.
    tunnel.tryForward(
      request.method === 'ping'
        ? { jsonrpc: '2.0', id: request.id, result: {} }
        : jsonRpcError(
            request.id,
            JsonRpcErrorCode.MethodNotFound,
            `No client connected through the gateway can handle ${request.method} right now`,
          ),
    );
  },
};
