import type { JsonRpcId, JsonRpcResponse } from './json-rpc.js';

/** One call in flight: the id it travels under, the id its caller chose, and what was recorded with it. */
export interface CorrelatedCall<Context> {
  id: string;
  callerId: JsonRpcId;
  context: Context;
}

export interface CorrelationOptions<Context, Failure extends Error> {
  /** Prefix of the ids the table gives its calls: `gw-` gives gw-1, gw-2, ... */
  prefix: string;
  /** The error a call that got no answer within its deadline is rejected with. */
  timedOut(timeoutMs: number, context: Context): Failure;
  /** Calls in flight at most, and the error `open` throws past it; unbounded when absent. */
  limit?: { max: number; busy(max: number): Failure };
}

interface OpenCall<Context, Failure extends Error> {
  callerId: JsonRpcId;
  context: Context;
  resolve: (response: JsonRpcResponse) => void;
  reject: (error: Failure) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Correlates JSON-RPC requests with their answers: every call gets an id unique in the table, so
 * callers that chose the same id never see each other's answers, and the caller's id is put back on
 * the answer. Each call has a deadline. Shared by the gateway (its tunnels' calls, and the requests
 * it relays up to MCP clients) and the tunnel client (its own handshake with the local server).
 */
export class CorrelationTable<Context, Failure extends Error = Error> {
  private readonly calls = new Map<string, OpenCall<Context, Failure>>();
  private seq = 0;

  constructor(private readonly options: CorrelationOptions<Context, Failure>) {}

  get size(): number {
    return this.calls.size;
  }

  /**
   * Opens a call; send the request under the returned `id`. `onTimeout` runs with that id when the
   * deadline passes, before the caller is rejected, so the peer can be told to cancel.
   */
  open(
    callerId: JsonRpcId,
    timeoutMs: number,
    context: Context,
    onTimeout?: (id: string) => void,
  ): { id: string; answer: Promise<JsonRpcResponse> } {
    const limit = this.options.limit;
    if (limit && this.calls.size >= limit.max) throw limit.busy(limit.max);
    const id = `${this.options.prefix}${++this.seq}`;
    const answer = new Promise<JsonRpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.calls.delete(id)) return;
        onTimeout?.(id);
        reject(this.options.timedOut(timeoutMs, context));
      }, timeoutMs);
      this.calls.set(id, { callerId, context, resolve, reject, timer });
    });
    return { id, answer };
  }

  /** Hands a response to the call that waits for it; returns it with the caller's id, or undefined when none waits. */
  settle(response: JsonRpcResponse): JsonRpcResponse | undefined {
    if (typeof response.id !== 'string') return undefined;
    const call = this.take(response.id);
    if (!call) return undefined;
    const restored = { ...response, id: call.callerId } as JsonRpcResponse;
    call.resolve(restored);
    return restored;
  }

  /** Forgets a call without settling it, e.g. when its request could not be sent. */
  drop(id: string): void {
    this.take(id);
  }

  /** Rejects one call; returns whether it was in flight. */
  fail(id: string, error: Failure): boolean {
    const call = this.take(id);
    call?.reject(error);
    return call !== undefined;
  }

  /** Rejects every call in flight, e.g. when the connection closes. */
  failAll(error: Failure): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const call of calls) {
      clearTimeout(call.timer);
      call.reject(error);
    }
  }

  /** The call in flight under this id. */
  get(id: string): CorrelatedCall<Context> | undefined {
    const call = this.calls.get(id);
    return call && { id, callerId: call.callerId, context: call.context };
  }

  /** The id of the first call in flight (oldest first) that matches. */
  find(match: (call: CorrelatedCall<Context>) => boolean): string | undefined {
    for (const [id, call] of this.calls) {
      if (match({ id, callerId: call.callerId, context: call.context })) return id;
    }
    return undefined;
  }

  /** Every call in flight, most recent first. */
  newestFirst(): CorrelatedCall<Context>[] {
    const out: CorrelatedCall<Context>[] = [];
    for (const [id, call] of this.calls) out.push({ id, callerId: call.callerId, context: call.context });
    return out.reverse();
  }

  private take(id: string): OpenCall<Context, Failure> | undefined {
    const call = this.calls.get(id);
    if (!call) return undefined;
    clearTimeout(call.timer);
    this.calls.delete(id);
    return call;
  }
}
