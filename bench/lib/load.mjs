/**
 * Load generators. Concurrency c always means c callers, each with one request in flight
 * (a closed loop): c keep-alive HTTP connections for the HTTP paths, c SDK clients (MCP sessions)
 * for the Streamable HTTP paths, c concurrent calls on the one stdio client for the direct path.
 */
import autocannon from 'autocannon';
import { Samples } from './stats.mjs';

/**
 * POSTs one body over `connections` keep-alive connections for `durationS` seconds with autocannon.
 * Latencies are taken from autocannon's per-response event (float ms, hrtime based): its own
 * histogram keeps whole milliseconds only, too coarse for sub-millisecond p50s.
 * A 2xx counts as answered once its body has been read to the end (an SSE answer stream included).
 */
export async function httpLoad({ url, headers = {}, body, connections, durationS, idReplacement = false }) {
  const samples = new Samples();
  let non2xx = 0;
  const started = process.hrtime.bigint();
  const instance = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    // `[<id>]` in the body becomes a fresh id per request (JSON-RPC ids must be unique within an MCP session).
    idReplacement,
    connections,
    pipelining: 1,
    duration: durationS,
    timeout: 30,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
    else non2xx++;
  });
  const result = await instance;
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    ok: samples.length,
    failed: non2xx + result.errors + result.timeouts,
    elapsedS,
    rps: samples.length / elapsedS,
    latency: samples.summary(),
  };
}

/**
 * Runs `callers` closed loops of `call()` for `durationS` seconds; call(i) gets the caller's index.
 * Returns the same shape as httpLoad.
 */
export async function callLoad({ call, callers, durationS }) {
  const samples = new Samples();
  let failed = 0;
  let firstError;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(durationS * 1e9));
  const loop = async (i) => {
    while (process.hrtime.bigint() < deadline) {
      const t0 = process.hrtime.bigint();
      try {
        await call(i);
        samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (err) {
        failed++;
        firstError ??= err;
        if (failed > 1000) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, i) => loop(i)));
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    ok: samples.length,
    failed,
    firstError: firstError ? String(firstError.message ?? firstError) : undefined,
    elapsedS,
    rps: samples.length / elapsedS,
    latency: samples.summary(),
  };
}
