import type { ServerResponse } from 'node:http';

/**
 * Holds an HTTP response's bytes in its socket until the response ends or `maxDelayMs` has passed,
 * whichever comes first. The MCP SDK writes a POST answered over SSE in pieces (the headers and
 * priming event at once, the answer and the end of the stream when the answer arrives): one
 * syscall each, the largest cost of the MCP door in its profile. A quick answer now leaves in one
 * write; a slow call's client gets its headers (and anything written so far) after `maxDelayMs`,
 * and a large answer is not held at all once it fills the socket's buffer.
 */
export function holdResponseWrites(res: ServerResponse, maxDelayMs: number): void {
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  socket.cork();
  let holding = true;
  const release = (): void => {
    if (!holding) return;
    holding = false;
    clearTimeout(timer);
    socket.uncork();
  };
  const timer = setTimeout(release, maxDelayMs);
  timer.unref();
  // Holding pays for small pieces only; a large answer (or a burst of events) leaves at once, so
  // a reading client is never taken for a slow one while its bytes sit in the cork.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the wrapper below calls it with `.apply(this, args)`
  const write = res.write as (...args: unknown[]) => boolean;
  res.write = function (this: ServerResponse, ...args: unknown[]): boolean {
    const result = write.apply(this, args);
    if (holding && socket.writableLength >= socket.writableHighWaterMark) release();
    return result;
  } as ServerResponse['write'];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the wrapper below calls it with `.apply(this, args)`
  const end = res.end as (...args: unknown[]) => ServerResponse;
  res.end = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
    const result = end.apply(this, args);
    release();
    return result;
  } as ServerResponse['end'];
}
