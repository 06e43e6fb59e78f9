import {
  GATEWAY_FRAME_LIMITS,
  GATEWAY_FRAME_TYPES,
  parseGatewayFrame,
  parseRegisteredServer,
  parseTunnelFrame,
  RESUME_LIMITS,
  SERVER_INFO_LIMITS,
  type ParseResult,
} from '../../src/protocol/envelopes.js';

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

describe('parseTunnelFrame: resumption', () => {
  const server = { name: 'echo' };

  test('register keeps resumable and a valid resume', () => {
    expect(ok(parseTunnelFrame({ type: 'register', server, resumable: true }))).toEqual({ type: 'register', server, resumable: true });
    expect(ok(parseTunnelFrame({ type: 'register', server, resumable: false }))).toEqual({ type: 'register', server, resumable: false });
    const token = 't'.repeat(RESUME_LIMITS.token);
    expect(ok(parseTunnelFrame({ type: 'register', server, resume: { token, lastReceived: 0, extra: 1 } }))).toEqual({
      type: 'register',
      server,
      resume: { token, lastReceived: 0 },
    });
  });

  test('register without the new fields is what older clients send: unchanged', () => {
    expect(ok(parseTunnelFrame({ type: 'register', server, resumable: null, resume: null }))).toEqual({ type: 'register', server });
  });

  test.each([
    [{ resumable: 'yes' }, 'register.resumable must be true or false'],
    [{ resume: 'token' }, 'register.resume must be an object'],
    [{ resume: [1] }, 'register.resume must be an object'],
    [{ resume: { lastReceived: 1 } }, `register.resume.token must be a string of at most ${RESUME_LIMITS.token} characters`],
    [{ resume: { token: 7, lastReceived: 1 } }, `register.resume.token must be a string of at most ${RESUME_LIMITS.token} characters`],
    [
      { resume: { token: 't'.repeat(RESUME_LIMITS.token + 1), lastReceived: 1 } },
      `register.resume.token must be a string of at most ${RESUME_LIMITS.token} characters`,
    ],
    [{ resume: { token: 't' } }, 'register.resume.lastReceived must be a non-negative integer'],
    [{ resume: { token: 't', lastReceived: -1 } }, 'register.resume.lastReceived must be a non-negative integer'],
    [{ resume: { token: 't', lastReceived: 1.5 } }, 'register.resume.lastReceived must be a non-negative integer'],
    [{ resume: { token: 't', lastReceived: '3' } }, 'register.resume.lastReceived must be a non-negative integer'],
    [{ resume: { token: 't', lastReceived: 2 ** 53 } }, 'register.resume.lastReceived must be a non-negative integer'],
  ])('register with %p is refused: %s', (fields, message) => {
    expect(error(parseTunnelFrame({ type: 'register', server, ...fields }))).toBe(message);
  });

  test.each(['response', 'notification', 'request'])('%s passes seq and ack through', (type) => {
    const payload = { jsonrpc: '2.0', id: 1, result: {} };
    expect(ok(parseTunnelFrame({ type, payload, seq: 3, ack: 0 }))).toEqual({ type, payload, seq: 3, ack: 0 });
    expect(ok(parseTunnelFrame({ type, payload, seq: 4 }))).toEqual({ type, payload, seq: 4 });
  });

  test.each([
    ['seq', -1],
    ['seq', 1.5],
    ['seq', '2'],
    ['ack', Number.MAX_SAFE_INTEGER + 1],
    ['ack', true],
  ])('a data frame with %s %p is refused', (key, value) => {
    expect(error(parseTunnelFrame({ type: 'response', payload: { jsonrpc: '2.0', id: 1, result: {} }, [key]: value }))).toBe(
      `"response" frame: ${key} must be a non-negative integer`,
    );
  });

  test('ack: a non-negative integer, extras dropped', () => {
    expect(ok(parseTunnelFrame({ type: 'ack', ack: 12, sessionId: 'x' }))).toEqual({ type: 'ack', ack: 12 });
    expect(ok(parseTunnelFrame({ type: 'ack', ack: 0 }))).toEqual({ type: 'ack', ack: 0 });
    for (const ack of [undefined, -1, 2.5, '3', null]) {
      expect(error(parseTunnelFrame({ type: 'ack', ack }))).toBe('"ack" frame needs a non-negative integer "ack"');
    }
  });
});

describe('parseGatewayFrame', () => {
  test.each([null, 'x', [{ type: 'request' }]])('refuses a frame that is not an object: %p', (data) => {
    expect(error(parseGatewayFrame(data))).toBe('Frame must be a JSON object');
  });

  test('refuses a frame without a string type, and names an unknown one', () => {
    expect(error(parseGatewayFrame({ type: 1 }))).toBe('Frame has no "type" field');
    expect(error(parseGatewayFrame({ type: 'register' }))).toBe('Unknown message type: register');
    expect(GATEWAY_FRAME_TYPES.has('register')).toBe(false);
  });

  test('register_ack of the base protocol', () => {
    expect(ok(parseGatewayFrame({ type: 'register_ack', sessionId: 's-1', status: 'success', extra: 1 }))).toEqual({
      type: 'register_ack',
      sessionId: 's-1',
      status: 'success',
    });
    // Anything but "success" is a refusal; a refusal may come without a session id.
    expect(ok(parseGatewayFrame({ type: 'register_ack', status: 'nope', message: 'taken' }))).toEqual({
      type: 'register_ack',
      sessionId: '',
      status: 'error',
      message: 'taken',
    });
  });

  test('register_ack keeps the resumption fields', () => {
    const fresh = { type: 'register_ack', sessionId: 's', status: 'success', resumeToken: 'tok', resumeGraceMs: 30_000 };
    expect(ok(parseGatewayFrame(fresh))).toEqual(fresh);
    const resumed = { ...fresh, resumed: true, lastReceived: 7 };
    expect(ok(parseGatewayFrame(resumed))).toEqual(resumed);
    const refused = { type: 'register_ack', sessionId: 's', status: 'error', resumeRefused: true, message: 'no' };
    expect(ok(parseGatewayFrame(refused))).toEqual(refused);
  });

  test('register_ack keeps an http(s) mcpUrl and drops a malformed one without refusing the frame', () => {
    const ack = { type: 'register_ack', sessionId: 's', status: 'success' };
    const url = 'https://gw.example.com/servers/notes/mcp';
    expect(ok(parseGatewayFrame({ ...ack, mcpUrl: url }))).toEqual({ ...ack, mcpUrl: url });
    for (const bad of [
      42,
      '',
      'not a url',
      'javascript:alert(1)',
      'file:///etc/passwd',
      `https://gw.example.com/${'x'.repeat(GATEWAY_FRAME_LIMITS.url)}`,
    ]) {
      expect(ok(parseGatewayFrame({ ...ack, mcpUrl: bad }))).toEqual(ack);
    }
  });

  test.each([
    [{ resumeToken: 5 }, `"register_ack" frame: resumeToken must be a string of 1 to ${RESUME_LIMITS.token} characters`],
    [{ resumeToken: '' }, `"register_ack" frame: resumeToken must be a string of 1 to ${RESUME_LIMITS.token} characters`],
    [{ resumeToken: 't'.repeat(129) }, `"register_ack" frame: resumeToken must be a string of 1 to ${RESUME_LIMITS.token} characters`],
    [{ resumed: 'true' }, '"register_ack" frame: resumed must be true or false'],
    [{ resumeRefused: 1 }, '"register_ack" frame: resumeRefused must be true or false'],
    [{ lastReceived: -1 }, '"register_ack" frame: lastReceived must be a non-negative integer'],
    [{ resumeGraceMs: 1.5 }, '"register_ack" frame: resumeGraceMs must be a non-negative integer'],
    [{ sessionId: 42 }, `"register_ack" frame: sessionId must be a string of at most ${GATEWAY_FRAME_LIMITS.sessionId} characters`],
    [
      { sessionId: 's'.repeat(GATEWAY_FRAME_LIMITS.sessionId + 1) },
      `"register_ack" frame: sessionId must be a string of at most ${GATEWAY_FRAME_LIMITS.sessionId} characters`,
    ],
  ])('register_ack with %p is refused', (fields, message) => {
    expect(error(parseGatewayFrame({ type: 'register_ack', sessionId: 's', status: 'success', ...fields }))).toBe(message);
  });

  test('register_complete, heartbeat and error: strings bounded, wrong types defaulted', () => {
    const long = 'm'.repeat(GATEWAY_FRAME_LIMITS.message + 10);
    expect(ok(parseGatewayFrame({ type: 'register_complete', sessionId: 's', status: 'success' }))).toEqual({
      type: 'register_complete',
      sessionId: 's',
      status: 'success',
    });
    expect(ok(parseGatewayFrame({ type: 'register_complete', sessionId: 's', status: 'error', message: long }))).toEqual({
      type: 'register_complete',
      sessionId: 's',
      status: 'error',
      message: 'm'.repeat(GATEWAY_FRAME_LIMITS.message),
    });
    expect(ok(parseGatewayFrame({ type: 'heartbeat' }))).toEqual({ type: 'heartbeat', sessionId: '', timestamp: '' });
    expect(ok(parseGatewayFrame({ type: 'error', message: long }))).toEqual({
      type: 'error',
      message: 'm'.repeat(GATEWAY_FRAME_LIMITS.message),
    });
    expect(ok(parseGatewayFrame({ type: 'error', message: {} }))).toEqual({ type: 'error', message: '' });
  });

  test.each(['request', 'response'])('%s: payload with seq and ack; both optional', (type) => {
    const payload = { jsonrpc: '2.0', id: 'gw-1', method: 'ping' };
    expect(ok(parseGatewayFrame({ type, sessionId: 's', payload, seq: 1, ack: 2 }))).toEqual({ type, payload, seq: 1, ack: 2 });
    expect(ok(parseGatewayFrame({ type, payload }))).toEqual({ type, payload });
    expect(error(parseGatewayFrame({ type, payload: 'x' }))).toBe(`"${type}" frame needs an object "payload"`);
    expect(error(parseGatewayFrame({ type, payload, seq: -2 }))).toBe(`"${type}" frame: seq must be a non-negative integer`);
  });

  test('a notification frame is not something a gateway sends', () => {
    expect(error(parseGatewayFrame({ type: 'notification', payload: {} }))).toBe('Unknown message type: notification');
  });

  test('ack', () => {
    expect(ok(parseGatewayFrame({ type: 'ack', ack: 5 }))).toEqual({ type: 'ack', ack: 5 });
    expect(error(parseGatewayFrame({ type: 'ack', ack: 'all' }))).toBe('"ack" frame needs a non-negative integer "ack"');
  });
});
