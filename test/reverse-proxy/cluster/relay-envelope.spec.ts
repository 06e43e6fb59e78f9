import { createHmac } from 'node:crypto';
import { RelaySeal, type RelayMessage, type RelaySealLimits } from '../../../src/reverse-proxy/cluster/relay-envelope.js';

const SECRET = 'cluster-secret-for-unit-tests';
const LIMITS: RelaySealLimits = { maxBytes: 4096, maxDepth: 10, maxAgeMs: 60_000 };
const T0 = 1_700_000_000_000;

let now: number;
const clock = () => now;

beforeEach(() => {
  now = T0;
});

/** A text sealed by hand: `body` signed with `secret`, whatever it holds. */
function signed(body: string, secret = SECRET): string {
  return `${createHmac('sha256', secret).update(body).digest('hex')}.${body}`;
}

const call: RelayMessage = {
  t: 'call',
  session: 'sid-1',
  call: 7,
  request: { jsonrpc: '2.0', id: 'mine', method: 'tools/call', params: { name: 'echo', arguments: { text: 'héllo €' } } },
  timeoutMs: 5000,
  caller: { key: 'mcp-session-1', progress: true, answers: ['sampling/createMessage'] },
};

describe('seal and open', () => {
  test('a sealed message opens to the same message and its sender', () => {
    const seal = new RelaySeal(SECRET, LIMITS, clock);
    expect(seal.open(seal.seal('replica-a', call))).toEqual({ from: 'replica-a', message: call });
  });

  test('the text is <hmac-sha256 hex>.<json> with the sender, its clock and the message', () => {
    const text = new RelaySeal(SECRET, LIMITS, clock).seal('replica-a', { t: 'hello' });
    const [signature, ...rest] = text.split('.');
    const body = rest.join('.');
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(body)).toEqual({ from: 'replica-a', at: T0, m: { t: 'hello' } });
    expect(signature).toBe(createHmac('sha256', SECRET).update(body).digest('hex'));
  });

  test('every message type opens', () => {
    const seal = new RelaySeal(SECRET, LIMITS, clock);
    const messages: RelayMessage[] = [
      call,
      { t: 'answer', call: 1, response: { jsonrpc: '2.0', id: 1, result: {} } },
      { t: 'failed', call: 1, reason: 'busy', message: 'busy' },
      { t: 'progress', call: 1, notification: { jsonrpc: '2.0', method: 'notifications/progress' } },
      { t: 'ask', call: 1, session: 's', request: { jsonrpc: '2.0', id: 1, method: 'roots/list' } },
      { t: 'forward', session: 's', payload: { jsonrpc: '2.0', method: 'x' } },
      { t: 'cancel', session: 's', call: 1, reason: 'r' },
      { t: 'cancel-caller', session: 's', callerKey: 'k', reason: 'r' },
      { t: 'publish', session: 's', event: { type: 'closed', reason: 'r' } },
      { t: 'watch', session: 's', level: 'none' },
      { t: 'follow', session: 's', on: true },
      { t: 'event', session: 's', event: { type: 'closed', reason: 'r' } },
      { t: 'close', session: 's', reason: 'r', code: 1000 },
      { t: 'hello' },
      { t: 'directory', removed: 's' },
      {
        t: 'x-open',
        x: 1,
        request: { door: 'd', name: 'n', principal: { user: 'u', isAdmin: false, via: 'jwt' }, method: 'GET', url: '/', headers: [] },
      },
      { t: 'x-head', x: 1, status: 200, headers: [['content-type', 'text/plain']] },
      { t: 'x-chunk', x: 1, data: 'abc' },
      { t: 'x-end', x: 1 },
      { t: 'x-abort', x: 1 },
      { t: 'x-refused', x: 1, refusal: { status: 404, message: 'no' } },
    ];
    for (const message of messages) expect(seal.open(seal.seal('r', message))?.message).toEqual(message);
  });

  test('a message exactly at the size, depth and age limits opens', () => {
    const seal = new RelaySeal(SECRET, { ...LIMITS, maxDepth: 3 }, clock);
    // {from, at, m: {t, payload: {}}} nests three deep.
    const text = seal.seal('r', { t: 'forward', session: 's', payload: {} as never });
    expect(new RelaySeal(SECRET, { ...LIMITS, maxDepth: 3, maxBytes: text.length }, clock).open(text)).toBeDefined();
    now = T0 + LIMITS.maxAgeMs;
    expect(seal.open(text)).toBeDefined();
    now = T0 - LIMITS.maxAgeMs;
    expect(seal.open(text)).toBeDefined();
  });
});

describe('what is refused', () => {
  const seal = () => new RelaySeal(SECRET, LIMITS, clock);

  test('a tampered signature', () => {
    const text = seal().seal('replica-a', call);
    const flipped = (text[0] === '0' ? '1' : '0') + text.slice(1);
    expect(seal().open(flipped)).toBeUndefined();
  });

  test('a tampered body', () => {
    const text = seal().seal('replica-a', call);
    expect(seal().open(text.replace('"call":7', '"call":8'))).toBeUndefined();
    expect(seal().open(text.replace('replica-a', 'replica-b'))).toBeUndefined();
  });

  test('a message sealed with another secret', () => {
    const other = new RelaySeal('another-secret', LIMITS, clock);
    expect(seal().open(other.seal('replica-a', call))).toBeUndefined();
    expect(other.open(seal().seal('replica-a', call))).toBeUndefined();
  });

  test('a message over maxBytes (UTF-8 bytes, not characters), unread', () => {
    const text = seal().seal('replica-a', call);
    const bytes = Buffer.byteLength(text);
    expect(new RelaySeal(SECRET, { ...LIMITS, maxBytes: bytes - 1 }, clock).open(text)).toBeUndefined();
    expect(new RelaySeal(SECRET, { ...LIMITS, maxBytes: bytes }, clock).open(text)).toBeDefined();
    const wide = seal().seal('replica-a', { t: 'forward', session: 's', payload: { jsonrpc: '2.0', method: 'é'.repeat(100) } });
    expect(Buffer.byteLength(wide)).toBeGreaterThan(wide.length);
    expect(new RelaySeal(SECRET, { ...LIMITS, maxBytes: wide.length }, clock).open(wide)).toBeUndefined();
  });

  test('JSON nested deeper than maxDepth', () => {
    let nested: unknown = 'leaf';
    for (let i = 0; i < 20; i++) nested = [nested];
    const text = seal().seal('replica-a', { t: 'forward', session: 's', payload: nested as never });
    expect(seal().open(text)).toBeUndefined();
    expect(new RelaySeal(SECRET, { ...LIMITS, maxDepth: 30 }, clock).open(text)).toBeDefined();
  });

  test('a message older than maxAgeMs (a replay), or from too far in the future', () => {
    const text = seal().seal('replica-a', call);
    now = T0 + LIMITS.maxAgeMs + 1;
    expect(seal().open(text)).toBeUndefined();
    now = T0 - LIMITS.maxAgeMs - 1;
    expect(seal().open(text)).toBeUndefined();
  });

  test('an unknown message type, even signed', () => {
    expect(seal().open(seal().seal('replica-a', { t: 'bogus' } as unknown as RelayMessage))).toBeUndefined();
    expect(seal().open(signed(JSON.stringify({ from: 'a', at: T0, m: { t: 7 } })))).toBeUndefined();
    expect(seal().open(signed(JSON.stringify({ from: 'a', at: T0, m: {} })))).toBeUndefined();
    // Not an own-name lookup trick either.
    expect(seal().open(signed(JSON.stringify({ from: 'a', at: T0, m: { t: 'constructor' } })))).toBeUndefined();
  });

  test('malformed JSON, even signed', () => {
    expect(seal().open(signed('{"from":"a","at":'))).toBeUndefined();
    expect(seal().open(signed('not json at all'))).toBeUndefined();
    expect(seal().open(signed(''))).toBeUndefined();
  });

  test('a signed body of the wrong shape', () => {
    const open = (body: unknown) => seal().open(signed(JSON.stringify(body)));
    expect(open([1, 2, 3])).toBeUndefined();
    expect(open('text')).toBeUndefined();
    expect(open(null)).toBeUndefined();
    expect(open({ at: T0, m: { t: 'hello' } })).toBeUndefined(); // no sender
    expect(open({ from: 5, at: T0, m: { t: 'hello' } })).toBeUndefined();
    expect(open({ from: 'a', at: String(T0), m: { t: 'hello' } })).toBeUndefined();
    expect(open({ from: 'a', m: { t: 'hello' } })).toBeUndefined();
    expect(open({ from: 'a', at: T0, m: 'hello' })).toBeUndefined();
    expect(open({ from: 'a', at: T0, m: [{ t: 'hello' }] })).toBeUndefined();
    expect(open({ from: 'a', at: T0, m: { t: 'hello' } })).toEqual({ from: 'a', message: { t: 'hello' } });
  });

  test('texts that are not sealed at all', () => {
    const text = seal().seal('replica-a', call);
    expect(seal().open('')).toBeUndefined();
    expect(seal().open('hello')).toBeUndefined();
    expect(seal().open(text.slice(0, 64))).toBeUndefined();
    // No dot after the signature.
    expect(seal().open(`${text.slice(0, 64)}x${text.slice(65)}`)).toBeUndefined();
    // A signature that is not hex, or is short.
    expect(seal().open(`${'z'.repeat(64)}${text.slice(64)}`)).toBeUndefined();
    expect(seal().open(text.slice(2))).toBeUndefined();
    // The body alone.
    expect(seal().open(text.slice(65))).toBeUndefined();
  });

  test('the signature covers the body exactly: a trailing byte breaks it', () => {
    const text = seal().seal('replica-a', { t: 'hello' });
    expect(seal().open(`${text} `)).toBeUndefined();
  });
});
