import { CorrelationTable, type CorrelatedCall } from '../../protocol/correlation-table.js';
import type { JsonRpcId, JsonRpcResponse } from '../../protocol/json-rpc.js';
import type { CallContext, InFlightCall } from './call-context.js';
import { CallError } from './call-error.js';
import type { CallStats } from './call-stats.js';

// The error type and what each door answers for it live in call-error.ts; re-exported for the callers that import it from here.
export { CallError, type CallFailure } from './call-error.js';

/** The gateway's view of a call in flight (call-context.ts) from the shared table's. */
function inFlight(call: CorrelatedCall<CallContext>): InFlightCall {
  return { tunnelId: call.id, callerRequestId: call.callerId, context: call.context };
}

/** Where a table records how its calls end (a tunnel's; the MCP client direction records none), and the clock it times them by. */
export interface CallRecorder {
  stats: CallStats;
  /** Epoch ms; the latency is the difference of two readings. */
  clock: () => number;
}

/**
 * The one correlation table of a tunnel: every call sent down the tunnel gets a tunnel-unique id,
 * so callers that chose the same id never see each other's answers; the caller's id is put back
 * on the way out. The same class correlates requests the gateway sends up to an MCP client. The
 * gateway's flavour of the protocol's `CorrelationTable`: fails with CallError, remembers a CallContext.
 *
 * With a `recorder`, it is also the one place where every call's end is counted (CallStats): answered
 * (a JSON-RPC error counts as an error), timed out, failed (closed, cancelled, abandoned) or refused
 * as busy; a call forgotten because its request could not be sent (`drop`) is not.
 */
export class PendingCalls {
  private readonly table: CorrelationTable<CallContext, CallError>;

  constructor(
    limit: number,
    prefix = 'gw-',
    /** Who answers, for timeout messages. */
    peer = 'the tunnel',
    private readonly recorder?: CallRecorder,
  ) {
    this.table = new CorrelationTable<CallContext, CallError>({
      prefix,
      timedOut: (timeoutMs, context) => {
        this.ended(context, false);
        return new CallError('timeout', `No answer from ${peer} within ${timeoutMs} ms`);
      },
      limit: { max: limit, busy: (max) => new CallError('busy', `Too many requests in flight on this session (limit ${max})`) },
    });
  }

  get size(): number {
    return this.table.size;
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
    if (this.recorder) context.sentAt = this.recorder.clock();
    try {
      const { id, answer } = this.table.open(originalId, timeoutMs, context, onTimeout);
      return { tunnelId: id, answer };
    } catch (err) {
      if (this.recorder) this.recorder.stats.refused(this.recorder.clock());
      throw err;
    }
  }

  /** Hands a response to the call that waits for it; returns it with the caller's id, or undefined when none waits. */
  settle(response: JsonRpcResponse): JsonRpcResponse | undefined {
    if (!this.recorder) return this.table.settle(response);
    const call = typeof response.id === 'string' ? this.table.get(response.id) : undefined;
    const restored = this.table.settle(response);
    if (restored && call) this.ended(call.context, !('error' in response));
    return restored;
  }

  /** Forgets a call without settling it, e.g. when its request could not be sent. */
  drop(tunnelId: string): void {
    this.table.drop(tunnelId);
  }

  /** Rejects one call; returns whether it was in flight. */
  fail(tunnelId: string, error: CallError): boolean {
    const call = this.recorder && this.table.get(tunnelId);
    const failed = this.table.fail(tunnelId, error);
    if (failed && call) this.ended(call.context, false);
    return failed;
  }

  /** The caller's id for a tunnel id still in flight. */
  originalId(tunnelId: string): JsonRpcId | undefined {
    return this.table.get(tunnelId)?.callerId;
  }

  /** What was recorded with a call still in flight. */
  get(tunnelId: string): InFlightCall | undefined {
    const call = this.table.get(tunnelId);
    return call && inFlight(call);
  }

  /** The tunnel id of the first call in flight that matches. */
  find(match: (call: InFlightCall) => boolean): string | undefined {
    return this.table.find((call) => match(inFlight(call)));
  }

  /** Every call in flight, most recent first. */
  newestFirst(): InFlightCall[] {
    return this.table.newestFirst().map(inFlight);
  }

  /** Rejects every call in flight, e.g. when the tunnel closes. */
  failAll(error: CallError): void {
    if (this.recorder) for (const call of this.table.newestFirst()) this.ended(call.context, false);
    this.table.failAll(error);
  }

  /** Records the end of a call sent at `context.sentAt`. */
  private ended(context: CallContext, ok: boolean): void {
    const recorder = this.recorder;
    if (!recorder || context.sentAt === undefined) return;
    const now = recorder.clock();
    recorder.stats.record(now - context.sentAt, ok, now);
  }
}
