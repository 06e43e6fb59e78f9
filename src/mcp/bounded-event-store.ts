import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

interface StoredEvent {
  streamId: StreamId;
  message: JSONRPCMessage;
}

/**
 * One MCP session's SSE events, kept for `Last-Event-ID` resumption. Holds at most `maxEvents`;
 * the oldest are dropped first, so a client that stays away too long resumes with a gap rather
 * than the gateway growing without bound. Event ids are `<seq>` numbers local to the session.
 */
export class BoundedEventStore implements EventStore {
  private readonly events = new Map<EventId, StoredEvent>();
  private seq = 0;

  constructor(private readonly maxEvents: number) {}

  get size(): number {
    return this.events.size;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const eventId = String(++this.seq);
    this.events.set(eventId, { streamId, message });
    while (this.events.size > this.maxEvents) {
      const oldest = this.events.keys().next().value as EventId;
      this.events.delete(oldest);
    }
    return eventId;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  /** Sends the stream's events stored after `lastEventId`, in order; empty priming events are skipped. */
  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.events.get(lastEventId);
    if (!last) throw new Error('Unknown or expired event id');
    const after = Number(lastEventId);
    for (const [eventId, event] of this.events) {
      if (Number(eventId) <= after || event.streamId !== last.streamId) continue;
      if (Object.keys(event.message).length === 0) continue;
      await send(eventId, event.message);
    }
    return last.streamId;
  }
}
