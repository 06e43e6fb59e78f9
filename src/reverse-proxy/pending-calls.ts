import type { JsonRpcId, JsonRpcResponse } from '../protocol/json-rpc.js';
import type { CallContext, InFlightCall } from './call-context.js';
import { CallError } from './call-error.js';

// The error type and what each door answers for it live in call-error.ts; re-exported for the callers that import it from here.
export { CallError, type CallFailure } from './call-error.js';

interface PendingCall {
  originalId: JsonRpcId;
  context: CallContext;
  resolve: (response: JsonRpcResponse) => void;
  reject: (error: CallError) => void;
  timer: NodeJS.Timeout;
}

/**
 * The one correlation table of a tunnel: every call sent down the tunnel gets a tunnel-unique id,
 * so callers that chose the same id never see each other's answers; the caller's id is put back
 * on the way out. The same class correlates requests the gateway sends up to an MCP client.
 */
export class PendingCalls {
  private readonly calls = new Map<string, PendingCall>();
  private seq = 0;

  constructor(
    private readonly limit: number,
    private readonly prefix = 'gw-',
    /** Who answers, for timeout messages. */
    private readonly peer = 'the tunnel',
  ) {}

  get size(): number {
    return this.calls.size;
  }

  /**
   * Opens a call. `onTimeout` runs with the tunnel id when the deadline passes, before the
   * caller is rejected, so the tunnel can be told to cancel.
   */
  open(
    originalId: JsonRpcId,
    timeoutMs: number,
    onTimeout: (tunnelId: string) => void,
    context: CallContext = {},
  ): { tunnelId: string; answer: Promise<JsonRpcResponse> } {
    if (this.calls.size >= this.limit) {
      throw new CallError('busy', `Too many requests in flight on this session (limit ${this.limit})`);
    }
    const tunnelId = `${this.prefix}${++this.seq}`;
    const answer = new Promise<JsonRpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.calls.delete(tunnelId)) return;
        onTimeout(tunnelId);
        reject(new CallError('timeout', `No answer from ${this.peer} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.calls.set(tunnelId, { originalId, context, resolve, reject, timer });
    });
    return { tunnelId, answer };
  }

  /** Hands a response to the call that waits for it; returns it with the caller's id, or undefined when none waits. */
  settle(response: JsonRpcResponse): JsonRpcResponse | undefined {
    if (typeof response.id !== 'string') return undefined;
    const call = this.calls.get(response.id);
    if (!call) return undefined;
    this.calls.delete(response.id);
    clearTimeout(call.timer);
    const restored = { ...response, id: call.originalId } as JsonRpcResponse;
    call.resolve(restored);
    return restored;
  }

  /** Forgets a call without settling it, e.g. when its request could not be sent. */
  drop(tunnelId: string): void {
    const call = this.calls.get(tunnelId);
    if (!call) return;
    clearTimeout(call.timer);
    this.calls.delete(tunnelId);
  }

  /** Rejects one call; returns whether it was in flight. */
  fail(tunnelId: string, error: CallError): boolean {
    const call = this.calls.get(tunnelId);
    if (!call) return false;
    clearTimeout(call.timer);
    this.calls.delete(tunnelId);
    call.reject(error);
    return true;
  }

  /** The caller's id for a tunnel id still in flight. */
  originalId(tunnelId: string): JsonRpcId | undefined {
    return this.calls.get(tunnelId)?.originalId;
  }

  /** What was recorded with a call still in flight. */
  get(tunnelId: string): InFlightCall | undefined {
    const call = this.calls.get(tunnelId);
    return call && { tunnelId, callerRequestId: call.originalId, context: call.context };
  }

  /** The tunnel id of the first call in flight that matches. */
  find(match: (call: InFlightCall) => boolean): string | undefined {
    for (const [tunnelId, call] of this.calls) {
      if (match({ tunnelId, callerRequestId: call.originalId, context: call.context })) return tunnelId;
    }
    return undefined;
  }

  /** Every call in flight, most recent first. */
  newestFirst(): InFlightCall[] {
    const out: InFlightCall[] = [];
    for (const [tunnelId, call] of this.calls) out.push({ tunnelId, callerRequestId: call.originalId, context: call.context });
    return out.reverse();
  }

  /** Rejects every call in flight, e.g. when the tunnel closes. */
  failAll(error: CallError): void {
    for (const call of this.calls.values()) {
      clearTimeout(call.timer);
      call.reject(error);
    }
    this.calls.clear();
  }
}
