/** Many raw WebSocket tunnels from the bench process (memory per idle tunnel, register time, SSE source). */
import WebSocket from 'ws';

/** Opens one tunnel and resolves with {ws, sessionId} once register_complete arrives. */
export function openTunnel(url, token, name, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: { Authorization: `Bearer ${token}` } });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`tunnel ${name}: no register_complete within ${timeoutMs} ms`));
    }, timeoutMs);
    let sessionId;
    ws.once('open', () => ws.send(JSON.stringify({ type: 'register', server: { name, capabilities: { tools: {} } } })));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'register_ack') {
        if (frame.status !== 'success') {
          clearTimeout(timer);
          ws.terminate();
          reject(new Error(`tunnel ${name}: ${frame.message}`));
        }
        sessionId = frame.sessionId;
      } else if (frame.type === 'register_complete') {
        clearTimeout(timer);
        resolve({ ws, sessionId });
      }
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`tunnel ${name}: upgrade refused with HTTP ${res.statusCode}`));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Opens `count` tunnels, at most `parallel` connecting at a time; resolves with the sockets, the
 * wall time from the first connect to the last register_complete, and when half of them were done.
 */
export async function openTunnels({ url, token, count, prefix, parallel = count }) {
  const sockets = [];
  const doneAt = [];
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const { ws } = await openTunnel(url, token, `${prefix}-${i}`);
      sockets.push(ws);
      doneAt.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  doneAt.sort((a, b) => a - b);
  return { sockets, ms: performance.now() - started, p50Ms: doneAt[doneAt.length >> 1] };
}

/** Closes tunnels and waits until every socket reports close. */
export async function closeTunnels(sockets) {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', resolve);
          ws.terminate();
        }),
    ),
  );
}
