import { ApiError } from '../../../console/src/lib/api.js';
import { follow, type FollowState } from '../../../console/src/lib/follow.js';

function body(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(text));
      c.close();
    },
  });
}

test('opens again after the stream ends, until an event says stop', async () => {
  const abort = new AbortController();
  const states: FollowState['kind'][] = [];
  const bodies = ['data: 1\n\n', 'data: 2\n\nevent: closed\ndata: bye\n\ndata: after\n\n'];
  const seen: string[] = [];
  const sleeps: number[] = [];
  await follow(
    async () => body(bodies.shift()!),
    (e) => {
      seen.push(e.data);
      return e.event === 'closed' ? 'stop' : undefined;
    },
    { signal: abort.signal, retryMs: 1234, onState: (s) => states.push(s.kind), sleep: async (ms) => void sleeps.push(ms) },
  );
  expect(seen).toEqual(['1', '2', 'bye']);
  expect(states).toEqual(['live', 'retrying', 'live', 'stopped']);
  expect(sleeps).toEqual([1234]);
});

test('a refusal that another try would not change (401, 403, 404) stops at once, with the error', async () => {
  for (const status of [401, 403, 404]) {
    const states: FollowState[] = [];
    let opens = 0;
    await follow(
      async () => {
        opens++;
        throw new ApiError(status, 'no');
      },
      () => undefined,
      { signal: new AbortController().signal, retryMs: 1, onState: (s) => states.push(s), sleep: async () => undefined },
    );
    expect(opens).toBe(1);
    expect(states).toEqual([{ kind: 'stopped', error: expect.objectContaining({ status }) }]);
  }
});

test('a failure that may pass (network, 503) is tried again; aborting stops it', async () => {
  const abort = new AbortController();
  let opens = 0;
  await follow(
    async () => {
      if (++opens === 3) abort.abort();
      throw opens === 1 ? new TypeError('fetch failed') : new ApiError(503, 'busy');
    },
    () => undefined,
    { signal: abort.signal, retryMs: 1, onState: () => undefined, sleep: async () => undefined },
  );
  expect(opens).toBe(3);
});
