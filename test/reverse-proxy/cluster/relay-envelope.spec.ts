import { createHmac } from 'node:crypto';
import { RelaySeal, type RelayMessage, type RelaySealLimits } from '../../../src/reverse-proxy/cluster/relay-envelope.js';

const SECRET = 'cluster-secret-for-unit-tests';
const LIMITS: RelaySealLimits = { maxBytes: 4096, maxDepth: 10, maxAgeMs: 60_000, maxBatchMessages: 8 };
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

describe('batches', () => {
  const seal = (limits: Partial<RelaySealLimits> = {}) => new RelaySeal(SECRET, { ...LIMITS, ...limits }, clock);
  const json = (messages: RelayMessage[]) => messages.map((m) => JSON.stringify(m));
  const ends: RelayMessage[] = [1, 2, 3, 4, 5].map((x) => ({ t: 'x-end', x }));

  test('several messages are sealed as one text under one signature, and open in order', () => {
    const texts = seal().sealBatch('replica-a', json([call, ...ends]));
    expect(texts).toHaveLength(1);
    const [signature, ...rest] = texts[0].split('.');
    const body = rest.join('.');
    expect(JSON.parse(body)).toEqual({ from: 'replica-a', at: T0, ms: [call, ...ends] });
    expect(signature).toBe(createHmac('sha256', SECRET).update(body).digest('hex'));
    expect(seal().openBatch(texts[0])).toEqual({ from: 'replica-a', messages: [call, ...ends], skipped: 0 });
    // Not a lone message.
    expect(seal().open(texts[0])).toBeUndefined();
  });

  test('one message is sealed in the lone form, which both open (replicas without batches read it)', () => {
    const texts = seal().sealBatch('replica-a', json([call]));
    expect(texts).toEqual([seal().seal('replica-a', call)]);
    expect(seal().open(texts[0])).toEqual({ from: 'replica-a', message: call });
    expect(seal().openBatch(texts[0])).toEqual({ from: 'replica-a', messages: [call], skipped: 0 });
    expect(seal().sealBatch('replica-a', [])).toEqual([]);
  });

  test('a run longer than maxBatchMessages is split, in order', () => {
    const texts = seal({ maxBatchMessages: 2 }).sealBatch('r', json(ends));
    expect(texts).toHaveLength(3);
    expect(texts.flatMap((t) => seal({ maxBatchMessages: 2 }).openBatch(t)?.messages)).toEqual(ends);
  });

  test('a run larger than maxBytes is split: every text is within the limit (UTF-8 bytes), in order', () => {
    const wide: RelayMessage[] = [1, 2, 3, 4, 5, 6].map((x) => ({ t: 'x-chunk', x, data: 'é€'.repeat(60) }));
    const maxBytes = 900;
    const texts = seal({ maxBytes }).sealBatch('r', json(wide));
    expect(texts.length).toBeGreaterThan(1);
    for (const text of texts) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(maxBytes);
    expect(texts.flatMap((t) => seal({ maxBytes }).openBatch(t)?.messages)).toEqual(wide);
    // Split as late as the limit allows: any two neighbouring texts together would be over it.
    for (let i = 1; i < texts.length; i++) {
      expect(Buffer.byteLength(texts[i - 1]) + Buffer.byteLength(texts[i])).toBeGreaterThan(maxBytes);
    }
  });

  test('a message too large on its own goes alone, and the receiver refuses it', () => {
    const big: RelayMessage = { t: 'x-chunk', x: 9, data: 'x'.repeat(LIMITS.maxBytes) };
    const texts = seal().sealBatch('r', json([ends[0], big, ends[1]]));
    expect(texts).toHaveLength(3);
    expect(seal().openBatch(texts[0])?.messages).toEqual([ends[0]]);
    expect(seal().openBatch(texts[1])).toBeUndefined();
    expect(seal().openBatch(texts[2])?.messages).toEqual([ends[1]]);
  });

  test('a tampered batch is refused whole', () => {
    const [text] = seal().sealBatch('replica-a', json([call, ...ends]));
    const tampered = [
      text.replace('"x":3', '"x":7'), // a message changed
      text.replace(',{"t":"x-end","x":5}', ''), // a message dropped
      text.replace('{"t":"x-end","x":4},{"t":"x-end","x":5}', '{"t":"x-end","x":5},{"t":"x-end","x":4}'), // reordered
      text.replace('replica-a', 'replica-b'), // another sender
    ];
    for (const t of tampered) {
      expect(t).not.toBe(text);
      expect(seal().openBatch(t)).toBeUndefined();
    }
    const flipped = (text[0] === '0' ? '1' : '0') + text.slice(1);
    expect(seal().openBatch(flipped)).toBeUndefined();
    expect(new RelaySeal('another-secret', LIMITS, clock).openBatch(text)).toBeUndefined();
  });

  test('a batch over maxBytes is refused unread', () => {
    const [text] = seal().sealBatch('r', json(ends));
    const bytes = Buffer.byteLength(text);
    expect(seal({ maxBytes: bytes - 1 }).openBatch(text)).toBeUndefined();
    expect(seal({ maxBytes: bytes }).openBatch(text)?.messages).toEqual(ends);
  });

  test('a batch of more than maxBatchMessages messages, even signed, is refused whole', () => {
    const [text] = seal({ maxBatchMessages: 5 }).sealBatch('r', json(ends));
    expect(seal({ maxBatchMessages: 4 }).openBatch(text)).toBeUndefined();
    expect(seal({ maxBatchMessages: 5 }).openBatch(text)?.messages).toEqual(ends);
  });

  test('an old batch (a replay), or one from too far in the future, is refused', () => {
    const [text] = seal().sealBatch('r', json(ends));
    now = T0 + LIMITS.maxAgeMs + 1;
    expect(seal().openBatch(text)).toBeUndefined();
    now = T0 - LIMITS.maxAgeMs - 1;
    expect(seal().openBatch(text)).toBeUndefined();
    now = T0 + LIMITS.maxAgeMs;
    expect(seal().openBatch(text)?.messages).toEqual(ends);
  });

  test('a batch nested deeper than maxDepth is refused whole', () => {
    let nested: unknown = 'leaf';
    for (let i = 0; i < 8; i++) nested = [nested];
    const deep: RelayMessage = { t: 'forward', session: 's', payload: nested as never };
    // {from, at, ms: [{t, payload: 8 levels}]}: 11 deep in a batch, 10 alone.
    expect(seal().open(seal().seal('r', deep))).toBeDefined();
    const [text] = seal().sealBatch('r', json([ends[0], deep]));
    expect(seal().openBatch(text)).toBeUndefined();
    expect(seal({ maxDepth: 11 }).openBatch(text)?.messages).toEqual([ends[0], deep]);
  });

  test('a signed batch of the wrong shape is refused; an entry of unknown type is skipped and counted', () => {
    const openBatch = (body: unknown) => seal().openBatch(signed(JSON.stringify(body)));
    expect(openBatch({ from: 'a', at: T0, ms: [] })).toBeUndefined();
    expect(openBatch({ from: 'a', at: T0, ms: { t: 'hello' } })).toBeUndefined();
    expect(openBatch({ from: 'a', at: T0, ms: 'hello' })).toBeUndefined();
    expect(openBatch({ from: 'a', at: T0, m: { t: 'hello' }, ms: [{ t: 'hello' }] })).toBeUndefined();
    expect(openBatch({ from: 'a', at: T0 })).toBeUndefined();
    expect(openBatch({ at: T0, ms: [{ t: 'hello' }] })).toBeUndefined();
    expect(openBatch({ from: 'a', at: T0, m: { t: 'bogus' } })).toBeUndefined();
    expect(openBatch({ from: 'a', at: T0, ms: [{ t: 'hello' }, { t: 'bogus' }, 'text', null, [], { t: 'x-end', x: 1 }] })).toEqual({
      from: 'a',
      messages: [{ t: 'hello' }, { t: 'x-end', x: 1 }],
      skipped: 4,
    });
  });
});
