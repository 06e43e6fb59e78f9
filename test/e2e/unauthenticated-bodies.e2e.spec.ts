/**
 * Slow unauthenticated uploads against the built gateway (dist/main.js, built by `pretest`) in a
 * child process: 100 connections without credentials announce a 4 MiB body and send half of it,
 * then dribble. The auth hook answers 401 from the headers alone and closes the connection, so no
 * body is buffered (before it, RSS went from ~144 MB to ~550 MB); clients that never finish their
 * headers are cut off by HTTP_HEADERS_TIMEOUT_MS.
 */
import { startGatewayProcess, type GatewayProcess } from '../support/gateway.js';
import { RawSocket } from '../support/raw-socket.js';

const SECRET = 'memory-bound-secret-0123456789';
const CONNECTIONS = 100;
const SLOW_HEADER_CONNECTIONS = 20;
const BODY_BYTES = 4 * 1024 * 1024;
/** What each client sends at once before dribbling: half the body. */
const SENT_BYTES = 2 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x20);
const TIMEOUT_MS = 2000;
const RSS_BUDGET = 64 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let gateway: GatewayProcess;
let port: number;

beforeAll(async () => {
  gateway = await startGatewayProcess({
    JWT_SECRET: SECRET,
    AUTH_REQUIRED: 'true',
    HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
    HTTP_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS),
  });
  port = gateway.port;
}, 20_000);

afterAll(() => gateway?.kill());

/** Announces a 4 MiB JSON body without credentials, sends half of it as fast as the socket takes it, then dribbles. */
async function slowUpload(path: string): Promise<RawSocket> {
  const socket = await RawSocket.open(port);
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${BODY_BYTES}\r\n\r\n[`,
  );
  void (async () => {
    for (let sent = 0; sent < SENT_BYTES && !socket.isClosed; sent += CHUNK.length) {
      if (!socket.socket.write(CHUNK)) await new Promise((r) => socket.socket.once('drain', r).once('close', r));
    }
    socket.dribble(200);
  })();
  return socket;
}

test(`${CONNECTIONS} slow unauthenticated 4 MiB uploads get 401 without their bodies being read; RSS stays within baseline + 64 MB`, async () => {
  // Warm up the paths first, so the baseline includes what the first requests allocate.
  for (let i = 0; i < 20; i++) await fetch(`http://127.0.0.1:${port}/servers/x/mcp`, { method: 'POST', body: '{}' }).then((r) => r.text());
  await sleep(200);
  const baseline = gateway.rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, gateway.rss())), 25);
  const all: RawSocket[] = [];
  try {
    const started = Date.now();
    const paths = [
      '/servers/demo/mcp',
      '/reverse-proxy/sessions/0123456789abcdef0123456789abcdef/request',
      '/servers/demo/messages?sessionId=x',
    ];
    const uploads = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => slowUpload(paths[i % paths.length])));
    const slowHeaders = await Promise.all(
      Array.from({ length: SLOW_HEADER_CONNECTIONS }, async () => {
        const socket = await RawSocket.open(port);
        socket.write('POST /servers/demo/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
        socket.dribble(200);
        return socket;
      }),
    );
    all.push(...uploads, ...slowHeaders);
    const closed = await Promise.all(all.map((s) => s.closesWithin(TIMEOUT_MS + 3000)));
    expect(closed.filter((c) => !c).length).toBe(0);
    // Each upload was refused from its headers: 401 in the gateway's shape, and the connection
    // closed. A client still writing may get the TCP reset (unread bytes) before it reads the 401.
    const refused = uploads.filter((s) => s.received.startsWith('HTTP/1.1 401'));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0].received).toContain('"message":"Authentication required"');
    expect(uploads.every((s) => s.received === '' || s.received.startsWith('HTTP/1.1 401'))).toBe(true);
    // Uploads were closed at once, not by the timeout; the slow headers by the headers timeout.
    expect(Math.max(...uploads.map((s) => s.closedAt! - started))).toBeLessThan(TIMEOUT_MS);
    expect(Math.min(...slowHeaders.map((s) => s.closedAt! - s.openedAt))).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
  } finally {
    clearInterval(sampler);
    all.forEach((s) => s.destroy());
  }
  expect(peak - baseline).toBeLessThan(RSS_BUDGET);
  // Still serving.
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
}, 30_000);
