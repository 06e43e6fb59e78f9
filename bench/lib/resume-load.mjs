/**
 * The resumption soak's steady mixed load: `counted` tool calls at a steady rate, half through the
 * REST door (POST /reverse-proxy/sessions/:id/request), half through the MCP door (Streamable HTTP
 * tools/call in one hand-opened MCP session per tunnel), each to a random tunnel, each with a
 * unique key that the local server counts, at most `inFlight` at a time. Every call is recorded:
 * its tunnel, when it started and ended (epoch ms, to match against the cuts), its latency, and
 * whether the right answer came back; anything else (an HTTP error, a JSON-RPC error, a wrong
 * answer, no answer within `deadlineMs`) is a lost call.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const MCP_ACCEPT = 'application/json, text/event-stream';
const PROTOCOL_VERSION = '2025-11-25';

/** The last `data:` line of an SSE body, or the body itself when it is plain JSON. */
export function jsonRpcFrom(text) {
  const data = text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .pop();
  return JSON.parse(data === undefined ? text : data.slice(5));
}

/** Opens an MCP session on /servers/<name>/mcp by hand; returns the headers every later request carries. */
export async function openMcpSession(base, name, token) {
  const url = `${base}/servers/${name}/mcp`;
  const headers = { Authorization: `Bearer ${token}`, accept: MCP_ACCEPT, 'content-type': 'application/json' };
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench-resume-soak', version: '1.0.0' } },
    }),
  });
  const text = await res.text();
  const sessionId = res.headers.get('mcp-session-id');
  if (res.status !== 200 || !sessionId) throw new Error(`initialize on ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  const session = { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': jsonRpcFrom(text).result.protocolVersion };
  const done = await fetch(url, {
    method: 'POST',
    headers: session,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await done.body?.cancel();
  return { url, headers: session };
}

/** Ends an MCP session opened by openMcpSession. */
export async function closeMcpSession(mcp) {
  await fetch(mcp.url, { method: 'DELETE', headers: mcp.headers })
    .then((res) => res.body?.cancel())
    .catch(() => undefined);
}

/** What one call's answer says: undefined when it is the right one, else why the call counts as lost. */
function verdict(status, text, key) {
  if (status !== 200) return `HTTP ${status}: ${text.slice(0, 160)}`;
  let answer;
  try {
    answer = jsonRpcFrom(text);
  } catch {
    return `unreadable answer: ${text.slice(0, 160)}`;
  }
  if (answer.error) return `JSON-RPC error ${answer.error.code}: ${String(answer.error.message).slice(0, 160)}`;
  if (answer.result?.content?.[0]?.text !== key) return `wrong answer: ${JSON.stringify(answer).slice(0, 160)}`;
  return undefined;
}

/**
 * Makes calls for `durationS` seconds. `tunnels`: [{ sessionId, token, mcp }] as opened by the
 * caller; `execMs(random)` picks a call's execution time; `onTick` hears progress once a second.
 * Resolves with { issued, skipped, elapsedS, drain }; drain() waits for the calls still in flight
 * and resolves with every call: [{t, door, key, startAt, endAt, ms, execMs, lost?}].
 */
export async function runResumeLoad({ base, tunnels, rate, inFlight, durationS, deadlineMs, random, execMs, onTick }) {
  const calls = [];
  let running = 0;
  let seq = 0;
  let skipped = 0;
  const call = async (t, door) => {
    const tunnel = tunnels[t];
    const key = `${door}-${++seq}`;
    const ms = execMs(random);
    const body = JSON.stringify({ jsonrpc: '2.0', id: key, method: 'tools/call', params: { name: 'counted', arguments: { key, ms } } });
    const record = { t, door, key, startAt: Date.now(), execMs: ms };
    const t0 = performance.now();
    running++;
    try {
      const res =
        door === 'rest'
          ? await fetch(`${base}/reverse-proxy/sessions/${tunnel.sessionId}/request`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${tunnel.token}`, 'content-type': 'application/json' },
              body,
              signal: AbortSignal.timeout(deadlineMs),
            })
          : await fetch(tunnel.mcp.url, { method: 'POST', headers: tunnel.mcp.headers, body, signal: AbortSignal.timeout(deadlineMs) });
      record.lost = verdict(res.status, await res.text(), key);
    } catch (err) {
      record.lost =
        err.name === 'TimeoutError' ? `no answer within ${deadlineMs / 1000} s` : `request failed: ${err.cause?.code ?? err.message}`;
    } finally {
      running--;
    }
    record.ms = performance.now() - t0;
    record.endAt = Date.now();
    calls.push(record);
  };

  const pending = new Set();
  const started = performance.now();
  const endAt = started + durationS * 1000;
  let last = started;
  // A token bucket: `rate` calls a second, at most `inFlight` waiting at once; calls the bound
  // held back are not made up for later (counted as skipped), so the load stays steady.
  let owed = 0;
  let nextTick = started + 1000;
  while (performance.now() < endAt) {
    const now = performance.now();
    owed += ((now - last) / 1000) * rate;
    last = now;
    while (owed >= 1) {
      owed--;
      if (running >= inFlight) {
        skipped++;
        continue;
      }
      const p = call(Math.floor(random() * tunnels.length), random() < 0.5 ? 'rest' : 'mcp');
      pending.add(p);
      p.finally(() => pending.delete(p));
    }
    if (now >= nextTick) {
      nextTick += 1000;
      onTick?.({ elapsedS: (now - started) / 1000, made: seq, done: calls.length, running, skipped });
    }
    await sleep(5);
  }
  const elapsedS = (performance.now() - started) / 1000;
  return { issued: seq, skipped, elapsedS, drain: () => Promise.all(pending).then(() => calls) };
}
