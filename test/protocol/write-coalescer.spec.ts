import { Duplex } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { WriteCoalescer } from '../../src/protocol/write-coalescer.js';

/** A socket stand-in that records how the stream layer hands it data: one write call per batch. */
class RecordingSocket extends Duplex {
  readonly writes: string[][] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.writes.push([chunk.toString()]);
    done();
  }
  override _writev(chunks: { chunk: Buffer }[], done: () => void): void {
    this.writes.push(chunks.map((c) => c.chunk.toString()));
    done();
  }
}

test('frames written in one event-loop turn leave in one write, at the end of the turn', async () => {
  const socket = new RecordingSocket();
  const writes = new WriteCoalescer(socket);
  for (const frame of ['a', 'b', 'c']) {
    writes.hold();
    socket.write(frame);
  }
  expect(socket.writes).toEqual([]);
  await nextTurn();
  expect(socket.writes).toEqual([['a', 'b', 'c']]);
  expect(socket.writableCorked).toBe(0);
});

test('each turn is its own batch, and a lone frame is not held past its turn', async () => {
  const socket = new RecordingSocket();
  const writes = new WriteCoalescer(socket);
  writes.hold();
  socket.write('1');
  await nextTurn();
  writes.hold();
  socket.write('2');
  writes.hold();
  socket.write('3');
  await nextTurn();
  expect(socket.writes).toEqual([['1'], ['2', '3']]);
});
