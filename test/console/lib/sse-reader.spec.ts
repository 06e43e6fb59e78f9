import { readSse } from '../../../console/src/lib/sse-reader.js';

function streamOf(chunks: string[], end = true): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      if (end) controller.close();
    },
  });
}

test('reads every event to the end of the body, decoding UTF-8 split across chunks', async () => {
  const bytes = new TextEncoder().encode('data: é\n\n');
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes.slice(0, 7));
      c.enqueue(bytes.slice(7));
      c.close();
    },
  });
  const events: string[] = [];
  expect(await readSse(body, (e) => events.push(e.data))).toBe('ended');
  expect(events).toEqual(['é']);
});

test('aborting ends a stream that is still open', async () => {
  const abort = new AbortController();
  const events: string[] = [];
  const reading = readSse(
    streamOf(['data: 1\n\n'], false),
    (e) => {
      events.push(e.data);
      abort.abort();
    },
    abort.signal,
  );
  expect(await reading).toBe('aborted');
  expect(events).toEqual(['1']);
});

test('a body that errors ends as failed, never as a rejection', async () => {
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      c.error(new Error('reset'));
    },
  });
  expect(await readSse(body, () => undefined)).toBe('failed');
});
