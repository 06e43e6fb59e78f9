import type { JsonRpcId, JsonRpcResponse } from '../protocol/json-rpc.js';

export type CallFailure = 'timeout' | 'closed' | 'busy';

/** Why a call through a tunnel got no answer. The message is safe to show to callers. */
export class CallError extends Error {
  constructor(
    readonly reason: CallFailure,
    message: string,
  ) {
    super(message);
    this.name = 'CallError';
  }
}

interface PendingCall {
  originalId: JsonRpcId;
  resolve: (response: JsonRpcResponse) => void;
  reject: (error: CallError) => void;
  timer: NodeJS.Timeout;
}

/**
 * The one correlation table of a tunnel: every call sent down the tunnel gets a tunnel-unique id,
 * so callers that chose the same id never see each other's answers; the caller's id is put back
 * on the way out.
 */
export class PendingCalls {
  private readonly calls = new Map<string, PendingCall>();
  private seq = 0;

  constructor(
    private readonly limit: number,
    private readonly prefix = 'gw-',
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
  ): { tunnelId: string; answer: Promise<JsonRpcResponse> } {
    if (this.calls.size >= this.limit) {
      throw new CallError('busy', `Too many requests in flight on this session (limit ${this.limit})`);
    }
    const tunnelId = `${this.prefix}${++this.seq}`;
    const answer = new Promise<JsonRpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.calls.delete(tunnelId)) return;
        onTimeout(tunnelId);
        reject(new CallError('timeout', `No answer from the tunnel within ${timeoutMs} ms`));
      }, timeoutMs);
      this.calls.set(tunnelId, { originalId, resolve, reject, timer });
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

  /** The caller's id for a tunnel id still in flight. */
  originalId(tunnelId: string): JsonRpcId | undefined {
    return this.calls.get(tunnelId)?.originalId;
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
