import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseJsonWithin } from '../../protocol/json-limits.js';
import {
  isObject,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../../protocol/json-rpc.js';
import type { Principal } from '../../auth/principal.js';
import type { ShareRules } from '../../protocol/share.js';
import type { CallerPrincipal } from '../tunnel/call-context.js';
import type { CallFailure } from '../tunnel/call-error.js';
import type { SessionEvent } from '../tunnel/session-event.js';
import type { SessionRecord } from './cluster-directory.js';

/** Who made a relayed call, as the replica holding the tunnel needs to know it. */
export interface RelayedCallerInfo {
  /** The caller's key (an MCP session id, `rest:<user>`, ...), so its calls can be found and cancelled together. */
  key: string;
  /** Whether the request carried a progress token: progress then comes back to the calling replica. */
  progress: boolean;
  /** Server-to-client methods (sampling, elicitation, roots, ping) the caller can answer. */
  answers: string[];
  /** Who the caller acts for: the replica holding the tunnel authorises the call again. */
  principal?: RelayedPrincipal;
}

/** A verified principal as it travels between replicas: what authorisation and the identity `_meta` read. */
export interface RelayedPrincipal {
  user: string | null;
  isAdmin: boolean;
  via: Principal['via'];
  groups?: readonly string[];
}

/** The part of a principal another replica needs (never a token). */
export function relayedPrincipal(principal: CallerPrincipal): RelayedPrincipal {
  return {
    user: principal.user,
    isAdmin: principal.isAdmin,
    via: principal.via ?? 'jwt',
    ...(principal.groups?.length ? { groups: [...principal.groups] } : {}),
  };
}

/**
 * What replicas say to each other over Redis. `call`s are correlated by the calling replica's own
 * `call` number; everything about one tunnel names its session id.
 */
export type RelayMessage =
  | { t: 'call'; session: string; call: number; request: JsonRpcRequest; timeoutMs: number; caller?: RelayedCallerInfo }
  | { t: 'answer'; call: number; response: JsonRpcResponse }
  | { t: 'failed'; call: number; reason: CallFailure; message: string }
  | { t: 'progress'; call: number; notification: JsonRpcNotification }
  /** The server asks the caller of a relayed call something (sampling, elicitation, roots). */
  | { t: 'ask'; call: number; session: string; request: JsonRpcRequest }
  | { t: 'forward'; session: string; payload: JsonRpcMessage }
  | { t: 'cancel'; session: string; call: number; reason: string }
  | { t: 'cancel-caller'; session: string; callerKey: string; reason: string }
  | { t: 'publish'; session: string; event: SessionEvent }
  /** What the sender wants of a tunnel's events from now on (relay-client.ts `WatchLevel`). */
  | { t: 'watch'; session: string; level: 'all' | 'notifications' | 'none' }
  /** An SSE stream on the sender starts (or stops) following a tunnel: server requests are then published as events. */
  | { t: 'follow'; session: string; on: boolean }
  | { t: 'event'; session: string; event: SessionEvent }
  | { t: 'close'; session: string; reason: string; code?: number }
  /** New access rules for a tunnel, decided (owner or admin) on the sender. */
  | { t: 'share'; session: string; rules: ShareRules }
  /** A replica took its lease (started, or came back after a lapse). */
  | { t: 'hello' }
  /** A change in the directory, broadcast so that every replica's view follows at once. */
  | { t: 'directory'; put?: SessionRecordJson; removed?: string }
  /** An HTTP exchange of a door, handed to the replica holding the tunnel (exchange-relay.ts). */
  | { t: 'x-open'; x: number; request: RelayedExchangeRequest }
  | { t: 'x-head'; x: number; status: number; headers: [string, string][] }
  | { t: 'x-chunk'; x: number; data: string }
  | { t: 'x-end'; x: number }
  /**
   * Either side gave up on the exchange (client gone, cut off, error). `served`: sent by the serving
   * side, about the sender's exchange `x` (exchange numbers are per entry replica, so two replicas
   * relaying to each other use the same numbers both ways).
   */
  | { t: 'x-abort'; x: number; served?: true }
  /**
   * A tunnel connection carried between replicas (tunnel-links.ts): its resume arrived on the sender,
   * its session lives on the receiver. `open` and `in` carry the client's frames, `gone` its end.
   */
  | { t: 'link-open'; link: number; owner: string | null; text: string }
  | { t: 'link-in'; link: number; text: string }
  | { t: 'link-gone'; link: number }
  /** ... and back: frames for the client, the end of its connection, or the connection handed back (resume refused) with frames that followed. */
  | { t: 'link-out'; link: number; data: string }
  | { t: 'link-close'; link: number; code?: number; reason?: string }
  | { t: 'link-release'; link: number; texts: string[] }
  /** The door refused before a response existed (404, 403, a failed call): the entry replica answers it as its own. */
  | { t: 'x-refused'; x: number; refusal: ExchangeRefusal };

/** Why a relayed exchange was refused: an HTTP status, or a failed tunnel call. */
export type ExchangeRefusal = { status: number; message: string } | { reason: CallFailure; message: string };

/** What a door's HTTP request becomes on its way to another replica: no credentials, the verified principal instead. */
export interface RelayedExchangeRequest {
  /** Which door serves it there. */
  door: string;
  /** The server name of the route. */
  name: string;
  /** Who the entry replica authenticated; the serving replica authorises it like a local caller. */
  principal: RelayedPrincipal;
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  /** The headers the door reads, never Authorization or Cookie. */
  headers: [string, string][];
  /** The parsed JSON body, when there is one. */
  body?: unknown;
}

/** A SessionRecord as it travels (dates as epoch ms). */
export type SessionRecordJson = Omit<SessionRecord, 'connectedAt'> & { connectedAt: number };

/** A verified message and the replica that sent it. */
export interface ReceivedRelay {
  from: string;
  message: RelayMessage;
}

/** The verified messages of one sealed text (a lone message or a batch), in the order they were sent. */
export interface ReceivedBatch {
  from: string;
  messages: RelayMessage[];
  /** Entries of the batch dropped for an unknown or missing type (a newer replica's message, say). */
  skipped: number;
}

/** Limits on relay messages; what is over them is dropped unread. */
export interface RelaySealLimits {
  /** Largest sealed text accepted, a batch included (bytes of text). */
  maxBytes: number;
  /** Deepest JSON accepted. */
  maxDepth: number;
  /** A message older than this (ms, by its sender's clock) is refused, so a captured one cannot be replayed later. */
  maxAgeMs: number;
  /** Most messages one sealed batch may carry; the sender splits longer runs. */
  maxBatchMessages: number;
}

const SIGNATURE_HEX_LENGTH = 64;
/** The signature, the dot after it, and a batch's closing `]}`. */
const BATCH_FRAME_BYTES = SIGNATURE_HEX_LENGTH + 1 + 2;
const MESSAGE_TYPES = new Set<RelayMessage['t']>([
  'call',
  'answer',
  'failed',
  'progress',
  'ask',
  'forward',
  'cancel',
  'cancel-caller',
  'publish',
  'watch',
  'follow',
  'event',
  'close',
  'share',
  'hello',
  'directory',
  'x-open',
  'x-head',
  'x-chunk',
  'x-end',
  'x-abort',
  'x-refused',
  'link-open',
  'link-in',
  'link-gone',
  'link-out',
  'link-close',
  'link-release',
]);

/** Whether `m` is a relay message of a known type. */
function isRelayMessage(m: unknown): m is RelayMessage {
  return isObject(m) && typeof m.t === 'string' && MESSAGE_TYPES.has(m.t as RelayMessage['t']);
}

/**
 * Seals and opens what replicas send each other: `<hmac-sha256 hex>.<json>` with the sender's id and
 * clock, and either one message (`m`) or a batch of them (`ms`), all under the one signature. Only a
 * holder of CLUSTER_SECRET can produce a message another replica acts on; whoever else can publish on
 * the Redis channels is ignored. A batch is bounded like a lone message (bytes, depth, age) and in how
 * many messages it carries.
 */
export class RelaySeal {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly limits: RelaySealLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(secret, 'utf8');
  }

  /** The text to publish for `message` from replica `from`. */
  seal(from: string, message: RelayMessage): string {
    const body = JSON.stringify({ from, at: this.now(), m: message });
    return `${this.sign(body)}.${body}`;
  }

  /**
   * The texts to publish for a run of messages from replica `from`, given as their JSON (`JSON.stringify`
   * of each `RelayMessage`, made when it was sent): as few sealed texts as the limits allow, in order.
   * One message goes in the lone form (`m`), which replicas without batches read too. A message too
   * large on its own goes alone, and the receiver drops it, as it would any oversized message.
   */
  sealBatch(from: string, messageJson: readonly string[]): string[] {
    const head = `{"from":${JSON.stringify(from)},"at":${this.now()},`;
    const fixed = BATCH_FRAME_BYTES + Buffer.byteLength(head) + '"ms":['.length;
    const texts: string[] = [];
    let start = 0;
    let bytes = fixed;
    for (let i = 0; i < messageJson.length; i++) {
      const size = Buffer.byteLength(messageJson[i]) + 1; // and its comma
      if (i > start && (bytes + size > this.limits.maxBytes || i - start >= this.limits.maxBatchMessages)) {
        texts.push(this.sealRun(head, messageJson, start, i));
        start = i;
        bytes = fixed;
      }
      bytes += size;
    }
    if (start < messageJson.length) texts.push(this.sealRun(head, messageJson, start, messageJson.length));
    return texts;
  }

  /** The message in `text`, if it is a lone message signed with the cluster's secret, fresh, within the limits and well formed. */
  open(text: string): ReceivedRelay | undefined {
    const body = this.verify(text);
    if (!body || !isRelayMessage(body.m)) return undefined;
    return { from: body.from as string, message: body.m };
  }

  /**
   * The messages in `text` (a lone message or a batch), if it is signed with the cluster's secret,
   * fresh and within the limits. A batch longer than `maxBatchMessages`, or empty, is refused whole; an
   * entry of unknown type is skipped (counted) and the others kept.
   */
  openBatch(text: string): ReceivedBatch | undefined {
    const body = this.verify(text);
    if (!body) return undefined;
    const from = body.from as string;
    if (body.ms === undefined) return isRelayMessage(body.m) ? { from, messages: [body.m], skipped: 0 } : undefined;
    const { ms } = body;
    if (body.m !== undefined || !Array.isArray(ms) || ms.length === 0 || ms.length > this.limits.maxBatchMessages) return undefined;
    const messages = (ms as unknown[]).filter(isRelayMessage);
    return { from, messages, skipped: ms.length - messages.length };
  }

  /** The parsed body of `text`, if its size, signature, JSON depth, sender and age are right. */
  private verify(text: string): Record<string, unknown> | undefined {
    if (text.length > this.limits.maxBytes || text.charCodeAt(SIGNATURE_HEX_LENGTH) !== 0x2e /* . */) return undefined;
    // A character is up to 3 bytes of UTF-8: count the bytes only when the characters leave room for doubt.
    if (text.length * 3 > this.limits.maxBytes && Buffer.byteLength(text) > this.limits.maxBytes) return undefined;
    const body = text.slice(SIGNATURE_HEX_LENGTH + 1);
    const given = Buffer.from(text.slice(0, SIGNATURE_HEX_LENGTH), 'hex');
    const expected = createHmac('sha256', this.key).update(body).digest();
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const parsed = parseJsonWithin(body, this.limits.maxDepth);
    if (!parsed.ok || !isObject(parsed.value)) return undefined;
    const { from, at } = parsed.value;
    if (typeof from !== 'string' || typeof at !== 'number') return undefined;
    if (Math.abs(this.now() - at) > this.limits.maxAgeMs) return undefined;
    return parsed.value;
  }

  /** Seals `messageJson[start..end)` after `head` (sender and clock): lone, or as a batch. */
  private sealRun(head: string, messageJson: readonly string[], start: number, end: number): string {
    const body = end - start === 1 ? `${head}"m":${messageJson[start]}}` : `${head}"ms":[${messageJson.slice(start, end).join(',')}]}`;
    return `${this.sign(body)}.${body}`;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('hex');
  }
}
