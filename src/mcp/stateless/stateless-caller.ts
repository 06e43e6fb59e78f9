import { randomUUID } from 'node:crypto';
import type { JsonRpcId, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../../protocol/json-rpc.js';
import type { CallerPrincipal, TunnelCaller } from '../../reverse-proxy/tunnel/call-context.js';
import { capabilityFor } from '../../protocol/server-request-capabilities.js';

/** Methods that may answer with `input_required` in the 2026-07-28 revision (multi round-trip requests). */
export const MULTI_ROUND_TRIP_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** A request the server sent while this caller's call was in flight, waiting for the client's input. */
export interface InputAsk {
  /** The key it has in the `inputRequests` the client receives. */
  key: string;
  /** The server's request, with the id the server chose. */
  request: JsonRpcRequest;
}

/** What the current HTTP exchange of the call offers: a way to stream related notifications. */
export interface StatelessExchange {
  notify(notification: JsonRpcNotification): Promise<void>;
}

/**
 * One logical request of a 2026-07-28 (stateless) client while it is in flight at the server. It
 * lives across the rounds of a multi round-trip request: its `key` is the `requestState` handed to
 * the client with `input_required`, so the retry finds the same call in the tunnel's one
 * correlation table (no table of its own). Only the user who started it may resume it.
 */
export class StatelessCaller implements TunnelCaller {
  readonly key = `stateless-${randomUUID()}`;
  /** Server requests the client has not answered yet, oldest first. */
  readonly asks: InputAsk[] = [];
  /** True between an `input_required` answer and the client's retry: a closed stream then is no cancellation. */
  parked = false;
  /** The server's answer to the call, once the call has been sent. */
  answer: Promise<JsonRpcResponse> | undefined;
  private exchange: StatelessExchange | undefined;
  private askSeq = 0;
  private inputWaiter: (() => void) | undefined;

  constructor(
    /** Who made the request (only the same user may resume it). */
    readonly principal: CallerPrincipal,
    /** The MCP method the client called. */
    readonly method: string,
    /** The client capabilities the request declared in its `_meta`. */
    readonly clientCapabilities: Record<string, unknown>,
  ) {}

  /** Owner key of the user whose request this is. */
  get user(): string | null {
    return this.principal.user;
  }

  /** The exchange now carrying this call (the first POST, then each retry). */
  attach(exchange: StatelessExchange): void {
    this.exchange = exchange;
    this.parked = false;
  }

  /** Whether `exchange` is the one carrying the call now (a late close of an earlier round's stream is no cancellation). */
  carriedBy(exchange: StatelessExchange): boolean {
    return this.exchange === exchange && !this.parked;
  }

  /** The round ends with `input_required`; the call stays in flight until the client retries (or it times out). */
  park(): void {
    this.parked = true;
    this.exchange = undefined;
  }

  onProgress(notification: JsonRpcNotification, _callerRequestId: JsonRpcId): void {
    if (this.parked) return;
    void this.exchange?.notify(notification).catch(() => undefined);
  }

  /** Whether the client can be asked this in-band: a multi round-trip call and a declared capability. */
  canAnswer(method: string): boolean {
    // Declared in the request's `_meta`; a ping is no input the revision lets a call wait for.
    const capability = capabilityFor(method);
    return typeof capability === 'string' && MULTI_ROUND_TRIP_METHODS.has(this.method) && this.clientCapabilities[capability] !== undefined;
  }

  /** The server asks the client something; the call's current round answers `input_required`. */
  ask(request: JsonRpcRequest): void {
    this.asks.push({ key: `input-${++this.askSeq}`, request });
    this.inputWaiter?.();
  }

  /** Resolves once the server has asked something the client must answer (at once if it already has). */
  inputNeeded(): Promise<void> {
    if (this.asks.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.inputWaiter = () => {
        this.inputWaiter = undefined;
        resolve();
      };
    });
  }

  /** The server's question answered by the client under `key`; removed from the open asks. */
  take(key: string): InputAsk | undefined {
    const index = this.asks.findIndex((ask) => ask.key === key);
    return index < 0 ? undefined : this.asks.splice(index, 1)[0];
  }
}
