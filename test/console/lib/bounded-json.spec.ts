import { fieldsOf, readBoundedJson } from '../../../console/src/lib/bounded-json.js';

/** A response whose body arrives in `chunks` (then `forever`, if given, without end), with no Content-Length. */
function streamed(chunks: string[], forever?: string): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift() ?? forever;
      if (next === undefined) controller.close();
      else controller.enqueue(encoder.encode(next));
    },
  });
  return new Response(body);
}

test('reads a JSON body within the limit, across chunks', async () => {
  expect(await readBoundedJson(streamed(['{"a":', '[1,2', ']}']), 100)).toEqual({ a: [1, 2] });
  expect(await readBoundedJson(new Response('{"é":"ü"}'), 100)).toEqual({ é: 'ü' });
});

test('a body over the limit is cut off while it streams (one that never ends too); a declared one is not read at all', async () => {
  expect(await readBoundedJson(streamed(['{"a":"', 'x'.repeat(60), 'x'.repeat(60), '"}']), 100)).toBeUndefined();
  expect(await readBoundedJson(streamed(['{"a":"'], 'x'.repeat(1000)), 100_000)).toBeUndefined();
  const declared = new Response('{}', { headers: { 'Content-Length': '5000' } });
  expect(await readBoundedJson(declared, 100)).toBeUndefined();
});

test('not JSON, or no body: undefined', async () => {
  expect(await readBoundedJson(new Response('<html>'), 100)).toBeUndefined();
  expect(await readBoundedJson(new Response(null, { status: 204 }), 100)).toBeUndefined();
});

test('fieldsOf: plain objects only', () => {
  expect(fieldsOf({ a: 1 })).toEqual({ a: 1 });
  for (const other of [null, [1], 'x', 3, undefined]) expect(fieldsOf(other)).toBeUndefined();
});
