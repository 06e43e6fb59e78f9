import { DEFAULT_SSE_LIMITS, SseParser, type SseEvent, type SseLimits } from './sse-parser.js';

/** How a stream ended: the server closed it, the reader aborted it, or reading failed. */
export type SseEnd = 'ended' | 'aborted' | 'failed';

/**
 * Reads an event-stream body to its end, handing each event to `onEvent`. Resolves with how it
 * ended; never rejects. Bounded by `limits` (oversized events are skipped, see SseParser).
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: SseEvent) => void,
  signal?: AbortSignal,
  limits: SseLimits = DEFAULT_SSE_LIMITS,
): Promise<SseEnd> {
  const parser = new SseParser(limits);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) return 'aborted';
      const { done, value } = await reader.read();
      if (done) return signal?.aborted ? 'aborted' : 'ended';
      for (const event of parser.push(decoder.decode(value, { stream: true }))) onEvent(event);
    }
  } catch {
    return signal?.aborted ? 'aborted' : 'failed';
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}
