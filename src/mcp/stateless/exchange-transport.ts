import {
  PerRequestHTTPServerTransport,
  ProtocolErrorCode,
  type AuthInfo,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageClassification,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import type { JsonRpcId } from '../../protocol/json-rpc.js';

/** Where the transport hands what the server says about one exchange's request. */
export interface ExchangeSink {
  /** The id the client gave its request. */
  readonly requestId: JsonRpcId;
  /** The answer, carrying the client's id, with the HTTP status the SDK's transport would give it. */
  answer(message: object, status: number): void;
  /** A message about the request before its answer (progress, a log line). */
  related(message: object): void;
  /** No answer will come: the server was closed. */
  abandon(): void;
}

/**
 * A long-lived transport for one SDK `Server` that answers many stateless 2026-07-28 requests at
 * once, each delivered with its own exchange. It is the SDK's per-request transport by type only, so
 * that connecting binds the server to the revision of `classification` (the SDK binds that era for
 * its own per-request transport alone); none of that transport's per-request machinery runs (web
 * Request and Response, streams, a server and a close chain per request). What the SDK's `Server`
 * does for a request is unchanged: the envelope checks, the method registry of the revision, the
 * relay handler, result encoding (`resultType`, cache fields, the server-info stamp) and error codes.
 *
 * Each request is renumbered on its way in, so that requests of different clients using the same id
 * can be in flight on the one server; its answer gets the client's id back.
 */
export class ExchangeTransport extends PerRequestHTTPServerTransport {
  private readonly exchanges = new Map<number, ExchangeSink>();
  private lastId = 0;
  /** The exchange whose request the server is taking in right now: its refusals come synchronously. */
  private dispatching: ExchangeSink | undefined;
  private over = false;
  /** Called each time the last request in flight has had its answer. */
  onDrained?: () => void;

  constructor(classification: MessageClassification) {
    super({ classification });
  }

  /** Requests delivered whose answer has not been sent yet. */
  get inFlight(): number {
    return this.exchanges.size;
  }

  /** Hands `request` to the connected server; what it says about it goes to `exchange`. */
  deliver(request: JSONRPCRequest, classification: MessageClassification, authInfo: AuthInfo, exchange: ExchangeSink): void {
    if (this.over || !this.onmessage) return exchange.abandon();
    const id = ++this.lastId;
    this.exchanges.set(id, exchange);
    this.dispatching = exchange;
    try {
      this.onmessage({ ...request, id }, { classification, authInfo });
    } finally {
      this.dispatching = undefined;
    }
  }

  override async start(): Promise<void> {
    // The server's connect starts its transport; there is nothing to open.
  }

  override async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if ('result' in message || 'error' in message) {
      const id = message.id as number;
      const exchange = this.exchanges.get(id);
      if (!exchange) return;
      this.exchanges.delete(id);
      exchange.answer({ ...message, id: exchange.requestId }, statusOf(message, exchange === this.dispatching));
      if (this.exchanges.size === 0) this.onDrained?.();
      return;
    }
    // A notification about a request; the revision has no server-to-client requests on the wire.
    const related = options?.relatedRequestId;
    if (related !== undefined) this.exchanges.get(related as number)?.related(message);
  }

  override async close(): Promise<void> {
    if (this.over) return;
    this.over = true;
    const exchanges = [...this.exchanges.values()];
    this.exchanges.clear();
    for (const exchange of exchanges) exchange.abandon();
    this.onclose?.();
  }
}

/** The revision's "header does not match the body" error (the SDK keeps the constant internal). */
const HEADER_MISMATCH = -32020;
const MISSING_CLIENT_CAPABILITY: number = ProtocolErrorCode.MissingRequiredClientCapability;

/**
 * HTTP statuses of the errors the SDK's per-request transport does not answer in-band (200) when
 * the server raises them while taking a request in: the revision's refusals (the SDK's ladder table).
 */
const REFUSAL_STATUS = new Map<number, number>([
  [ProtocolErrorCode.ParseError, 400],
  [ProtocolErrorCode.InvalidRequest, 400],
  [ProtocolErrorCode.MethodNotFound, 404],
  [ProtocolErrorCode.UnsupportedProtocolVersion, 400],
  [ProtocolErrorCode.MissingRequiredClientCapability, 400],
  [HEADER_MISMATCH, 400],
]);

/**
 * The HTTP status of an answer, as the SDK's per-request transport picks it: a refusal while the
 * server takes the request in has the status of its code; any later answer is 200, but for a missing
 * client capability (400 whenever it is raised).
 */
function statusOf(message: JSONRPCMessage, duringDispatch: boolean): number {
  if (!('error' in message)) return 200;
  const code = message.error.code;
  if (duringDispatch) return REFUSAL_STATUS.get(code) ?? 200;
  return code === MISSING_CLIENT_CAPABILITY ? 400 : 200;
}
