import type { Principal } from '../../auth/principal.js';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../../protocol/json-rpc.js';
import type { TunnelCaller } from '../tunnel/call-context.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';

/** Why a REST caller's notifications/cancelled was not carried out. */
export type RestCancelRefusal = 'no-request-id' | 'not-yours';

/**
 * The REST door's caller on one tunnel: every call a user makes through the admin API on it. Being a
 * TunnelCaller, its progress tokens are rewritten like an MCP client's, so a token it picks can never
 * name another caller's call; and it may cancel only its own calls, named by its own request ids.
 */
export class RestCaller implements TunnelCaller {
  readonly key: string;
  readonly principal: Principal;

  constructor(
    private readonly tunnel: SessionHandle,
    principal: Principal,
  ) {
    this.principal = principal;
    // ':' keeps REST keys apart from MCP session ids (UUIDs) and stateless keys.
    this.key = principal.user === null ? 'rest-anonymous' : `rest:${principal.user}`;
  }

  /** REST callers follow progress on the session's SSE stream: published there with their own token. */
  onProgress(notification: JsonRpcNotification): void {
    this.tunnel.publish({ type: 'notification', payload: notification });
  }

  /** Sends a request as this caller; see SessionHandle.call. */
  call(request: JsonRpcRequest, timeoutMs: number): Promise<JsonRpcResponse> {
    return this.tunnel.call(request, timeoutMs, this);
  }

  /**
   * Carries out a notifications/cancelled whose requestId is the id this caller gave one of its calls:
   * that call is given up and the server told, under the id it knows. A raw id is never forwarded.
   */
  cancel(notification: JsonRpcNotification): RestCancelRefusal | undefined {
    const params = notification.params as Record<string, unknown> | undefined;
    const requestId = params?.requestId;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return 'no-request-id';
    const tunnelId = this.tunnel.findCall(this.key, requestId);
    if (!tunnelId) return 'not-yours';
    const reason = typeof params?.reason === 'string' ? params.reason.slice(0, 200) : 'Cancelled by the caller';
    this.tunnel.cancel(tunnelId, reason);
    return undefined;
  }
}
