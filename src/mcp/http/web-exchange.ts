import type { IncomingMessage, ServerResponse } from 'node:http';
import { cutOff, SlowReaderGuard, type StreamLimits } from './slow-reader.js';

/**
 * The Node request as a Web `Request` for the SDK's web-standard transport: method, URL and
 * headers, no body (Fastify has parsed it already and the transport takes the parsed value).
 * Unlike a general adapter it adds no waiting of its own before the first byte of an answer.
 * `signal` becomes the request's signal (the SDK's `createMcpHandler` takes its abort as the
 * client having gone).
 */
export function toWebRequest(req: IncomingMessage, signal?: AbortSignal): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  return new Request(requestUrl(req.url, req.headers.host), { method: req.method, headers, ...(signal ? { signal } : {}) });
}

/** A Web `Request` from its parts (a request relayed from another replica), like toWebRequest. */
export function webRequestOf(method: string, path: string, headerPairs: [string, string][], signal: AbortSignal): Request {
  const headers = new Headers(headerPairs);
  return new Request(requestUrl(path, headers.get('host') ?? undefined), { method, headers, signal });
}

/**
 * Writes a Web `Response` to the Node response: the status and headers (sent at once, before the
 * first event, which may be a slow tool's answer), then the body as it is produced (an SSE stream
 * stays open until the transport closes it). Stops reading when the client goes away, so the
 * transport learns that its stream is gone. The body is read as fast as it is produced, so the
 * transport's stream never queues (it ignores backpressure); what waits for a slow client waits in
 * the response, where `limits` bound it: past them the response is cut off and the stream cancelled.
 * Resolves when the response is over.
 */
export async function writeWebResponse(response: Response, res: ServerResponse, limits: StreamLimits): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key] = value));
  if (!response.body) {
    res.writeHead(response.status, headers).end();
    return;
  }
  // The body is bytes (`Response.body` is typed `ReadableStream<any>` in Node's types).
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const stop = (): void => void reader.cancel().catch(() => undefined);
  if (res.destroyed) return stop();
  res.writeHead(response.status, headers);
  // Node sends headers with the first body write; an SSE answer to a pre-2025-11-25 client has no
  // priming event, so its headers would wait for the tool. A held socket still coalesces them.
  if (headers['content-type']?.startsWith('text/event-stream')) res.flushHeaders();
  res.once('close', stop);
  const guard = new SlowReaderGuard(res, limits);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (guard.isTooFarBehind()) {
        cutOff(res);
        break;
      }
      res.write(value);
    }
  } catch {
    // The transport errored its stream: end the response with what was sent.
  } finally {
    res.off('close', stop);
    if (res.destroyed) stop();
    else res.end();
  }
}

/** An absolute URL for the request; the transport only reports it, so a bad Host (or path) falls back to localhost (or /). */
function requestUrl(path = '/', host: string | undefined): string {
  const base = host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? `http://${host}` : 'http://localhost';
  return path.startsWith('/') ? `${base}${path}` : `${base}/`;
}

/**
 * The same response with its body watched: `onDone(true)` once the body was read to its end,
 * `onDone(false)` when it was cancelled (the client left, or was cut off) or errored; once either way.
 * A response without a body is done at once.
 */
export function watchBody(response: Response, onDone: (complete: boolean) => void): Response {
  let settled = false;
  const done = (complete: boolean): void => {
    if (settled) return;
    settled = true;
    onDone(complete);
  };
  if (!response.body) {
    done(true);
    return response;
  }
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          controller.close();
          done(true);
        } else {
          controller.enqueue(value);
        }
      } catch (err) {
        controller.error(err);
        done(false);
      }
    },
    cancel(reason) {
      done(false);
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** An AbortSignal that fires when the Node response closes before `settle()` is called (the client left mid-answer). */
export function abortOnEarlyClose(res: ServerResponse): { signal: AbortSignal; settle: () => void } {
  const gone = new AbortController();
  let over = false;
  const onClose = (): void => {
    if (!over) gone.abort();
  };
  res.once('close', onClose);
  if (res.destroyed) gone.abort();
  return {
    signal: gone.signal,
    settle: () => {
      over = true;
      res.off('close', onClose);
    },
  };
}
