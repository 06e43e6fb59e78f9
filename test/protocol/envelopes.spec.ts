import { parseRegisteredServer, parseTunnelFrame, SERVER_INFO_LIMITS, type ParseResult } from '../../src/protocol/envelopes.js';

function ok<T>(result: ParseResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got error: ${result.error}`);
  return result.value;
}

function error<T>(result: ParseResult<T>): string {
  if (result.ok) throw new Error(`expected an error, got a value with ${Object.keys(result.value as object).join(', ')}`);
  return result.error;
}

describe('parseRegisteredServer', () => {
  test('keeps every known field', () => {
    const server = {
      name: 'git-tools',
      title: 'Git tools',
      description: 'Runs git',
      version: '1.2.3',
      protocolVersion: '2025-06-18',
      protocol: 'stdio',
      instructions: 'Use it wisely',
      capabilities: { tools: { listChanged: true } },
      serverInfo: { name: 'git', version: '1.2.3' },
    };
    expect(ok(parseRegisteredServer(server))).toEqual(server);
  });

  test('drops unknown fields', () => {
    expect(ok(parseRegisteredServer({ name: 'a', sessionId: 'x', evil: { deep: true }, __proto__x: 1 }))).toEqual({ name: 'a' });
  });

  test('accepts a missing name and skips null values', () => {
    expect(ok(parseRegisteredServer({ description: null, capabilities: null }))).toEqual({});
  });

  test('accepts any protocol value', () => {
    expect(ok(parseRegisteredServer({ name: 'a', protocol: 'websocket-legacy' }))).toEqual({ name: 'a', protocol: 'websocket-legacy' });
  });

  test.each([null, 'a string', 42, ['name']])('refuses a server that is not an object: %p', (raw) => {
    expect(error(parseRegisteredServer(raw))).toBe('register.server must be an object');
  });

  test.each(['with space', '-leading-dash', '.hidden', 'slash/name', 'ünïcode', ''])('refuses the bad name %p', (name) => {
    // An empty name is not a usable name either.
    const result = parseRegisteredServer({ name });
    expect(result.ok).toBe(false);
  });

  test('names the rule a bad name breaks', () => {
    expect(error(parseRegisteredServer({ name: 'a b' }))).toMatch(/letters, digits/);
  });

  test.each(['a', 'git-tools', 'Server_1.0', '9lives'])('accepts the name %p', (name) => {
    expect(ok(parseRegisteredServer({ name })).name).toBe(name);
  });

  test.each(Object.entries(SERVER_INFO_LIMITS).filter(([key]) => key !== 'objectBytes'))(
    'caps server.%s at %d characters',
    (key, limit) => {
      const base = key === 'name' ? {} : { name: 'a' };
      const atLimit = key === 'name' ? 'a'.repeat(limit) : 'x'.repeat(limit);
      expect(ok(parseRegisteredServer({ ...base, [key]: atLimit }))[key as 'name']).toBe(atLimit);
      expect(error(parseRegisteredServer({ ...base, [key]: atLimit + 'x' }))).toBe(`server.${key} is longer than ${limit} characters`);
    },
  );

  test.each(['name', 'description', 'version', 'instructions'])('refuses a non-string server.%s', (key) => {
    expect(error(parseRegisteredServer({ [key]: 42 }))).toBe(`server.${key} must be a string`);
  });

  test.each(['capabilities', 'serverInfo'])('refuses server.%s that is not an object', (key) => {
    expect(error(parseRegisteredServer({ name: 'a', [key]: 'all' }))).toBe(`server.${key} must be an object`);
    expect(error(parseRegisteredServer({ name: 'a', [key]: ['tools'] }))).toBe(`server.${key} must be an object`);
  });

  test.each(['capabilities', 'serverInfo'])('caps the serialized size of server.%s', (key) => {
    const big = { blob: 'x'.repeat(SERVER_INFO_LIMITS.objectBytes) };
    expect(error(parseRegisteredServer({ name: 'a', [key]: big }))).toBe(
      `server.${key} is larger than ${SERVER_INFO_LIMITS.objectBytes} bytes`,
    );
  });

  test('measures the object cap in bytes, not characters', () => {
    // 6000 three-byte characters: 18000 bytes of JSON, though only ~6000 characters.
    const wide = { blob: '€'.repeat(6000) };
    expect(error(parseRegisteredServer({ name: 'a', capabilities: wide }))).toMatch(/larger than/);
  });
});

describe('parseTunnelFrame', () => {
  test.each([null, 'register', 12, [{ type: 'register' }]])('refuses a frame that is not an object: %p', (data) => {
    expect(error(parseTunnelFrame(data))).toBe('Frame must be a JSON object');
  });

  test.each([{}, { type: 3 }, { payload: {} }])('refuses a frame without a string type: %p', (data) => {
    expect(error(parseTunnelFrame(data))).toBe('Frame has no "type" field');
  });

  test('register: keeps the validated server and drops sessionId and other extras', () => {
    const frame = ok(
      parseTunnelFrame({
        type: 'register',
        sessionId: 'client-chosen',
        extra: 1,
        server: { name: 'echo', protocol: 'stdio', capabilities: { tools: {} }, junk: true },
      }),
    );
    expect(frame).toEqual({ type: 'register', server: { name: 'echo', protocol: 'stdio', capabilities: { tools: {} } } });
  });

  test('register without server gives an empty server', () => {
    expect(ok(parseTunnelFrame({ type: 'register' }))).toEqual({ type: 'register', server: {} });
  });

  test('register with a bad server reports the server problem', () => {
    expect(error(parseTunnelFrame({ type: 'register', server: { name: 'bad name' } }))).toMatch(/server\.name/);
    expect(error(parseTunnelFrame({ type: 'register', server: 'x' }))).toBe('register.server must be an object');
  });

  test('unregister', () => {
    expect(ok(parseTunnelFrame({ type: 'unregister', sessionId: 'abc' }))).toEqual({ type: 'unregister' });
  });

  test('heartbeat', () => {
    expect(ok(parseTunnelFrame({ type: 'heartbeat', sessionId: 'abc', timestamp: 'now' }))).toEqual({ type: 'heartbeat' });
  });

  test('error keeps a string message and defaults a missing one', () => {
    expect(ok(parseTunnelFrame({ type: 'error', message: 'boom' }))).toEqual({ type: 'error', message: 'boom' });
    expect(ok(parseTunnelFrame({ type: 'error', message: { nested: 1 } }))).toEqual({ type: 'error', message: '' });
  });

  test.each(['response', 'notification', 'request'])('%s carries its payload and drops extras', (type) => {
    const payload = { jsonrpc: '2.0', id: 1, result: {} };
    expect(ok(parseTunnelFrame({ type, sessionId: 's', payload, authentication: 'x', authType: 'bearer' }))).toEqual({
      type,
      payload,
    });
  });

  test.each(['response', 'notification', 'request'])('%s without an object payload is refused by name', (type) => {
    expect(error(parseTunnelFrame({ type }))).toBe(`"${type}" frame needs an object "payload"`);
    expect(error(parseTunnelFrame({ type, payload: [1] }))).toBe(`"${type}" frame needs an object "payload"`);
    expect(error(parseTunnelFrame({ type, payload: 'x' }))).toBe(`"${type}" frame needs an object "payload"`);
  });

  test('an unknown type is named in the error', () => {
    expect(error(parseTunnelFrame({ type: 'subscribe' }))).toBe('Unknown message type: subscribe');
  });

  test('a very long unknown type is shortened in the error', () => {
    const message = error(parseTunnelFrame({ type: 'x'.repeat(10_000) }));
    expect(message).toBe(`Unknown message type: ${'x'.repeat(64)}`);
  });

  test('gateway-only types coming from a tunnel are unknown', () => {
    expect(error(parseTunnelFrame({ type: 'register_ack' }))).toBe('Unknown message type: register_ack');
  });
});
