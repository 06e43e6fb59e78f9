import { JsonRpcErrorCode, jsonRpcError, type JsonRpcMessage, type JsonRpcRequest } from '../protocol/json-rpc.js';
import type { SessionEvent } from './session-event.js';

/**
 * What the default router uses of the tunnel a request came through (a TunnelSession; declared here
 * so that this module and tunnel-session.ts do not import each other).
 */
export interface RequestingTunnel {
  readonly streamSubscribers: number;
  publish(event: SessionEvent): void;
  forward(payload: JsonRpcMessage): void;
}

/**
 * Decides who answers a request the local server sends to its client (sampling, elicitation,
 * roots, ping). A door that knows better than "publish it" (the MCP door) installs its own.
 */
export interface ServerRequestRouter<Tunnel extends RequestingTunnel = RequestingTunnel> {
  route(request: JsonRpcRequest, tunnel: Tunnel): void;
}

/**
 * The REST/SSE door's behaviour: publish the request as a `request` event for SSE subscribers to
 * answer through POST .../request. With no subscriber nobody could answer, so the server gets an
 * error at once instead of waiting out its own timeout (a ping is answered: the gateway is alive).
 */
export const publishAsEvent: ServerRequestRouter = {
  route(request, tunnel) {
    if (tunnel.streamSubscribers > 0) {
      tunnel.publish({ type: 'request', payload: request });
      return;
    }
    try {
      tunnel.forward(
        request.method === 'ping'
          ? { jsonrpc: '2.0', id: request.id, result: {} }
          : jsonRpcError(
              request.id,
              JsonRpcErrorCode.MethodNotFound,
              `No client connected through the gateway can handle ${request.method} right now`,
            ),
      );
    } catch {
      // The tunnel closed meanwhile; the server went with it.
    }
  },
};
