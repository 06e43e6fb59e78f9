import { Subject, type Observable } from 'rxjs';
import type { GatewayToTunnelFrame, RegisteredServer } from '../protocol/envelopes.js';
import {
  classifyJsonRpc,
  type JsonRpcMessage,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../protocol/json-rpc.js';
import { CallError, PendingCalls } from './pending-calls.js';
import type { SessionEvent } from './session-event.js';

/** The part of a WebSocket a session needs; lets unit tests use a plain object. */
export interface TunnelSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SessionState = 'connected' | 'registered' | 'ready' | 'closed';

export interface SessionLimits {
  maxPending: number;
}

/** Outcome of handing a tunnel payload to the session. */
export type InboundResult = 'routed' | 'unmatched' | 'invalid';

/**
 * One tunnel: sends frames down its WebSocket, correlates calls with their answers and
 * publishes everything else the local server says as session events.
 */
export class TunnelSession {
  readonly connectedAt = new Date();
  lastActivity = Date.now();
  state: SessionState = 'connected';
  /** Why the session closed, once it has. */
  closeReason: string | undefined;
  server: RegisteredServer | undefined;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** When the last heartbeat reply went out; replies are rate-limited so echoing clients cannot ping-pong. */
  lastHeartbeatReplyAt = 0;

  private readonly pending: PendingCalls;
  private readonly events = new Subject<SessionEvent>();
  /** Hot stream of this session's events; completes after `closed`. */
  readonly events$: Observable<SessionEvent> = this.events.asObservable();

  constructor(
    readonly id: string,
    /** Owner key of the principal that opened the tunnel; null when anonymous. */
    readonly owner: string | null,
    private readonly socket: TunnelSocket,
    limits: SessionLimits,
  ) {
    this.pending = new PendingCalls(limits.maxPending);
  }

  get name(): string | undefined {
    return this.server?.name;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get isOpen(): boolean {
    return this.state !== 'closed';
  }

  /** Serializes and sends one frame, counting it. */
  send(frame: GatewayToTunnelFrame): void {
    if (!this.isOpen) throw new CallError('closed', 'The tunnel is closed');
    const data = JSON.stringify(frame);
    this.socket.send(data);
    this.messagesOut++;
    this.bytesOut += Buffer.byteLength(data);
    this.lastActivity = Date.now();
  }

  /** Sends any JSON-RPC message to the local server without waiting (notifications, answers to server requests). */
  forward(payload: JsonRpcMessage): void {
    this.send({ type: 'request', sessionId: this.id, payload });
  }

  /**
   * Sends a request and resolves with its answer, carrying the caller's original id.
   * Rejects with CallError on timeout (after telling the server to cancel) or when the tunnel closes; throws CallError
   * (reason `busy`) at once when too many calls are in flight, so a caller that does not wait can still report it.
   */
  call(request: JsonRpcRequest, timeoutMs: number): Promise<JsonRpcResponse> {
    if (!this.isOpen) return Promise.reject(new CallError('closed', 'The tunnel is closed'));
    const { tunnelId, answer } = this.pending.open(request.id, timeoutMs, (expiredId) => this.cancelRemote(expiredId));
    try {
      this.forward({ ...request, id: tunnelId });
    } catch (err) {
      this.pending.drop(tunnelId);
      return Promise.reject(err);
    }
    return answer;
  }

  /** Records an inbound frame's size; the gateway calls this for every frame. */
  recordInbound(bytes: number): void {
    this.messagesIn++;
    this.bytesIn += bytes;
    this.lastActivity = Date.now();
  }

  /**
   * Routes a JSON-RPC message from the local server: an answer goes to the call waiting for it
   * (and to subscribers with the caller's id); notifications and server-to-client requests become events.
   */
  receive(payload: unknown): InboundResult {
    const kind = classifyJsonRpc(payload);
    if (kind === undefined) return 'invalid';
    const message = payload as JsonRpcMessage;
    if (kind === 'response') {
      const restored = this.pending.settle(message as JsonRpcResponse);
      if (!restored) return 'unmatched';
      this.emit({ type: 'response', payload: restored });
      return 'routed';
    }
    this.emit({ type: kind, payload: message });
    return 'routed';
  }

  /** Ends the session: fails calls in flight at once, emits `closed`, completes the event stream. */
  close(reason: string, code = 1000): void {
    if (!this.isOpen) return;
    this.state = 'closed';
    this.closeReason = reason;
    this.pending.failAll(new CallError('closed', `The tunnel closed (${reason})`));
    this.emit({ type: 'closed', reason });
    this.events.complete();
    try {
      this.socket.close(code, reason.slice(0, 120));
    } catch {
      // The socket may already be gone; the session is closed either way.
    }
  }

  private emit(event: SessionEvent): void {
    this.events.next(event);
  }

  private cancelRemote(tunnelId: string): void {
    if (!this.isOpen) return;
    this.forward({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: tunnelId, reason: 'Request timed out at the gateway' },
    });
  }
}
