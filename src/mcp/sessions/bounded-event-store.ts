import { randomBytes } from 'node:crypto';
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { EventStoreBudget } from './event-store-budget.js';

type RequestId = string | number;

interface StoredEvent {
  streamId: StreamId;
  /** The message as JSON: what is kept, and its length is what the event costs (≈ bytes). */
  json: string;
  /** The request this event answers, when it is a response. */
  answers?: RequestId;
}

export interface EventStoreLimits {
  /** Events kept; the oldest go first. */
  maxEvents: number;
  /** Bytes (characters of JSON) kept; the oldest go first. */
  maxBytes: number;
}

/**
 * One MCP session's SSE events, kept for `Last-Event-ID` resumption. Bounded by count and bytes
 * of its own, and by a budget shared with every other session; the oldest events go first, and
 * when the shared budget is spent by others a new event is not kept rather than grow (the client
 * then resumes with a gap, as after expiry). A stream whose exchange delivered it completely is
 * forgotten (`forgetAnswered`), and everything is given back when the session ends (`close`).
 * Event ids are `<epoch>_<seq>`: `seq` counts the session's events, and the random `epoch` tells
 * this store's ids from those of the store the session had on another replica before its tunnel
 * moved (cluster mode), whose events are not here.
 */
export class BoundedEventStore implements EventStore {
  private readonly events = new Map<EventId, StoredEvent>();
  private readonly byStream = new Map<StreamId, Set<EventId>>();
  /** Which stream answered a request id (the last one, if ids repeat). */
  private readonly answeredOn = new Map<RequestId, StreamId>();
  private seq = 0;
  private readonly epoch = randomBytes(4).toString('hex');
  private storedBytes = 0;
  private closed = false;

  constructor(
    private readonly limits: EventStoreLimits,
    private readonly budget: EventStoreBudget,
  ) {}

  get size(): number {
    return this.events.size;
  }

  /** Bytes this store holds (and has taken from the shared budget). */
  get bytes(): number {
    return this.storedBytes;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    return this.store(streamId, message);
  }

  /**
   * Keeps `message` as the next event of `streamId` (when the bounds allow) and returns its id;
   * storeEvent without the promise. `json`: the message's JSON when the caller has made it already.
   */
  store(streamId: StreamId, message: object, json: string = jsonOf(message)): EventId {
    const eventId = `${this.epoch}_${++this.seq}`;
    if (this.closed) return eventId;
    const cost = json.length;
    // Larger than this session may keep at all: not kept (its stream delivers it once, unresumable).
    if (cost > this.limits.maxBytes) return eventId;
    while (this.events.size > 0 && (this.events.size >= this.limits.maxEvents || this.storedBytes + cost > this.limits.maxBytes)) {
      this.dropOldest();
    }
    // Over the gateway-wide budget: this session's own oldest go first, then the new event is refused.
    while (!this.budget.tryTake(cost)) {
      if (this.events.size === 0) return eventId;
      this.dropOldest();
    }
    const answers = responseIdOf(message);
    this.events.set(eventId, { streamId, json, answers });
    let ids = this.byStream.get(streamId);
    if (!ids) this.byStream.set(streamId, (ids = new Set()));
    ids.add(eventId);
    this.storedBytes += cost;
    if (answers !== undefined) this.answeredOn.set(answers, streamId);
    return eventId;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.streamOf(eventId);
  }

  /** The stream a kept event belongs to. */
  streamOf(eventId: EventId): StreamId | undefined {
    return this.events.get(eventId)?.streamId;
  }

  /** The events of `eventId`'s stream kept after it, in order, priming events left out (for a resumed stream). */
  *eventsAfter(eventId: EventId): Generator<[EventId, string]> {
    const last = this.events.get(eventId);
    if (!last) return;
    const after = seqOf(eventId);
    for (const id of [...(this.byStream.get(last.streamId) ?? [])]) {
      const event = this.events.get(id);
      if (seqOf(id) > after && event && event.json !== '{}') yield [id, event.json];
    }
  }

  /** A stream delivered whole: nobody will resume it, so its events go. */
  forgetStream(streamId: StreamId): void {
    this.dropStream(streamId);
  }

  /** Whether `eventId` is one of the events kept here (a resumption from it can be served). */
  has(eventId: EventId): boolean {
    return this.events.has(eventId);
  }

  /** Whether `eventId` was never this store's: another store's, as the session had on the replica that held it before. */
  isForeign(eventId: EventId): boolean {
    return !eventId.startsWith(`${this.epoch}_`);
  }

  /** Sends the stream's events stored after `lastEventId`, in order; empty priming events are skipped. */
  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.events.get(lastEventId);
    if (!last) throw new Error('Unknown or expired event id');
    for (const [eventId, json] of this.eventsAfter(lastEventId)) await send(eventId, JSON.parse(json) as JSONRPCMessage);
    return last.streamId;
  }

  /**
   * The streams that answered these requests were delivered completely (their HTTP exchange
   * finished): nobody will resume them, so their events go.
   */
  forgetAnswered(requestIds: readonly RequestId[]): void {
    for (const requestId of requestIds) {
      const streamId = this.answeredOn.get(requestId);
      if (streamId !== undefined) this.dropStream(streamId);
    }
  }

  /** The session ended: every event goes, its bytes back to the shared budget, and nothing more is kept. */
  close(): void {
    this.closed = true;
    this.budget.give(this.storedBytes);
    this.storedBytes = 0;
    this.events.clear();
    this.byStream.clear();
    this.answeredOn.clear();
  }

  private dropOldest(): void {
    const oldest = this.events.keys().next().value as EventId;
    this.drop(oldest);
  }

  private dropStream(streamId: StreamId): void {
    for (const eventId of [...(this.byStream.get(streamId) ?? [])]) this.drop(eventId);
  }

  private drop(eventId: EventId): void {
    const event = this.events.get(eventId);
    if (!event) return;
    this.events.delete(eventId);
    const ids = this.byStream.get(event.streamId);
    ids?.delete(eventId);
    if (ids?.size === 0) this.byStream.delete(event.streamId);
    if (event.answers !== undefined && this.answeredOn.get(event.answers) === event.streamId) this.answeredOn.delete(event.answers);
    this.storedBytes -= event.json.length;
    this.budget.give(event.json.length);
  }
}

/**
 * A message's JSON, made once however many sessions store it (a logging notification fans out to
 * every session of its server as the same object).
 */
const jsonCache = new WeakMap<object, string>();
function jsonOf(message: object): string {
  let json = jsonCache.get(message);
  if (json === undefined) {
    json = JSON.stringify(message);
    jsonCache.set(message, json);
  }
  return json;
}

/** The sequence number of one of this store's event ids. */
function seqOf(eventId: EventId): number {
  return Number(eventId.slice(eventId.indexOf('_') + 1));
}

function responseIdOf(message: object): RequestId | undefined {
  if (!('id' in message) || 'method' in message) return undefined;
  const id = (message as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}
