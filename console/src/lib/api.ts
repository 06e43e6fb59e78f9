import type { JsonRpcResponse, Session, SessionList, SessionStats } from './types.js';

/** The fetch the API uses (the page's, or a test's). */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** An answer of the gateway that is not a success: its status and its (bounded) message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Longest error message shown from an answer. */
const MAX_MESSAGE_CHARS = 300;

/** A fixed sentence per status the console expects, for answers whose body says nothing usable. */
const STATUS_TEXT: Record<number, string> = {
  401: 'The token was refused (missing, invalid or expired).',
  403: 'Not allowed for this token.',
  404: 'Not found.',
  429: 'Too many requests.',
  502: 'The tunnel closed before it answered.',
  503: 'The gateway or the tunnel is busy; try again.',
  504: 'The server did not answer in time.',
};

/**
 * The gateway's admin API, as the console uses it: every call carries the bearer token in the
 * Authorization header, relative to the page's origin.
 */
export class GatewayApi {
  private nextId = 1;

  constructor(
    private readonly token: string,
    private readonly fetcher: Fetch,
    private readonly base = '',
  ) {}

  /** The sessions this token may see. */
  listSessions(): Promise<SessionList> {
    return this.json<SessionList>('GET', '/reverse-proxy/sessions');
  }

  /** One session. */
  getSession(id: string): Promise<Session> {
    return this.json<Session>('GET', `/reverse-proxy/sessions/${encodeURIComponent(id)}`);
  }

  /** Disconnects a session (owner or admin). */
  async disconnect(id: string): Promise<void> {
    await this.json('DELETE', `/reverse-proxy/sessions/${encodeURIComponent(id)}`);
  }

  /** Calls and latency of the last minutes. */
  stats(id: string): Promise<SessionStats> {
    return this.json<SessionStats>('GET', `/reverse-proxy/sessions/${encodeURIComponent(id)}/stats`);
  }

  /** Sends one JSON-RPC request through the tunnel and resolves with the server's answer (a JSON-RPC error included). */
  call(id: string, method: string, params?: unknown, timeoutMs = 30_000): Promise<JsonRpcResponse> {
    const message = { jsonrpc: '2.0', id: `console-${this.nextId++}`, method, ...(params === undefined ? {} : { params }) };
    return this.json<JsonRpcResponse>('POST', `/reverse-proxy/sessions/${encodeURIComponent(id)}/request?timeout_ms=${timeoutMs}`, message);
  }

  /** Opens an event stream (`/reverse-proxy/sse` or `/reverse-proxy/sse/:id`); rejects with ApiError when refused. */
  async openStream(path: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const res = await this.fetcher(this.base + path, { headers: this.headers({ Accept: 'text/event-stream' }), signal });
    if (!res.ok || !res.body) throw await errorOf(res);
    return res.body;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetcher(this.base + path, {
      method,
      headers: this.headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }
}

/** The ApiError for a refused answer: the gateway's `message` when it has one, else a fixed sentence. */
export async function errorOf(res: Response): Promise<ApiError> {
  let message: string | undefined;
  try {
    const body = (await res.json()) as { message?: unknown; error?: { message?: unknown } };
    const text = typeof body.message === 'string' ? body.message : typeof body.error?.message === 'string' ? body.error.message : undefined;
    if (text !== undefined && text.trim() !== '') message = text.slice(0, MAX_MESSAGE_CHARS);
  } catch {
    // Not JSON: the status says enough.
  }
  return new ApiError(res.status, message ?? STATUS_TEXT[res.status] ?? `The gateway answered ${res.status}.`);
}
