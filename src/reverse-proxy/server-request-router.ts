import type { JsonRpcRequest } from '../protocol/json-rpc.js';
import type { TunnelSession } from './tunnel-session.js';

/**
 * Decides who answers a request the local server sends to its client (sampling, elicitation,
 * roots, ping). A door that knows better than "publish it" (the MCP door) installs its own.
 */
export interface ServerRequestRouter {
  route(request: JsonRpcRequest, tunnel: TunnelSession): void;
}

/** The REST/SSE door's behaviour: publish the request as a `request` event; a subscriber answers through POST .../request. */
export const publishAsEvent: ServerRequestRouter = {
  route(request, tunnel) {
    tunnel.publish({ type: 'request', payload: request });
  },
};
