import type { JsonRpcNotification, JsonRpcRequest } from '../../protocol/json-rpc.js';
import type { CallerPrincipal, TunnelCaller } from '../tunnel/call-context.js';

/** How a relayed caller reaches back to the replica it stands for. */
export interface RelayedCallerLink {
  progress(notification: JsonRpcNotification): void;
  ask(request: JsonRpcRequest): void;
}

/**
 * Stands, on the replica holding a tunnel, for the caller of a call relayed from another replica:
 * its progress and the server's questions to it travel back to that replica. It carries the real
 * caller's key, so a door's "all calls of this caller" verbs still find it.
 */
export class RelayedCaller implements TunnelCaller {
  constructor(
    readonly key: string,
    /** The replica the caller is on. */
    readonly replica: string,
    private readonly answers: readonly string[],
    private readonly link: RelayedCallerLink,
    /** Who the real caller acts for (checked again here), for a tunnel that forwards the caller's identity. */
    readonly principal?: CallerPrincipal,
  ) {}

  /** Progress goes back to the calling replica, which restores the caller's own token. */
  onProgress(notification: JsonRpcNotification): void {
    this.link.progress(notification);
  }

  /** Whether the real caller declared what `method` needs. */
  canAnswer(method: string): boolean {
    return this.answers.includes(method);
  }

  /** Hands a server request to the real caller; its answer comes back to the tunnel as a forwarded message. */
  ask(request: JsonRpcRequest): void {
    this.link.ask(request);
  }
}
