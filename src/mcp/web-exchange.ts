import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The Node request as a Web `Request` for the SDK's web-standard transport: method, URL and
 * headers, no body (Fastify has parsed it already and the transport takes the parsed value).
 * Unlike a general adapter it adds no waiting of its own before the first byte of an answer.
 */
export function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return new Request(requestUrl(req), { method: req.method, headers });
}

/**
 * Writes a Web `Response` to the Node response: the status and headers, then the body as it is
 * produced (an SSE stream stays open until the transport closes it). Stops reading when the
 * client goes away, so the transport learns that its stream is gone; waits for `drain` on a slow
 * client rather than buffering without bound. Resolves when the response is over.
 */
export async function writeWebResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key] = value));
  if (!response.body) {
    res.writeHead(response.status, headers).end();
    return;
  }
  const reader = response.body.getReader();
  const stop = (): void => void reader.cancel().catch(() => undefined);
  if (res.destroyed) return stop();
  res.writeHead(response.status, headers);
  res.once('close', stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await drainedOrClosed(res);
    }
  } catch {
    // The transport errored its stream: end the response with what was sent.
  } finally {
    res.off('close', stop);
    if (res.destroyed) stop();
    else res.end();
  }
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** An absolute URL for the request; the transport only reports it, so a bad Host falls back to localhost. */
function requestUrl(req: IncomingMessage): string {
  const path = req.url ?? '/';
  const host = req.headers.host;
  if (host && /^[A-Za-z0-9.\-:[\]]+$/.test(host)) return `http://${host}${path}`;
  return `http://localhost${path}`;
}
