import { FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.close());

test('GET /health answers without auth', async () => {
  const res = await http('GET', `${gw.httpUrl}/health`);
  expect([res.status, res.body]).toEqual([200, { status: 'ok' }]);
});

test('GET /ready answers without auth and counts sessions', async () => {
  const res = await http('GET', `${gw.httpUrl}/ready`);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ status: 'ok', info: { registry: { status: 'up', sessions: 0 } } });
  const { tunnel } = await FakeTunnel.register(gw.tunnelUrl, gw.mintToken('alice@example.com'));
  expect((await http('GET', `${gw.httpUrl}/ready`)).body.info.registry.sessions).toBe(1);
  await tunnel.close();
});

test('every answer carries a request id, and a sane X-Request-ID is echoed', async () => {
  const generated = await http('GET', `${gw.httpUrl}/health`);
  expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  const echoed = await http('GET', `${gw.httpUrl}/health`, { headers: { 'X-Request-ID': 'trace-123' } });
  expect(echoed.headers.get('x-request-id')).toBe('trace-123');
  const refused = await http('GET', `${gw.httpUrl}/health`, { headers: { 'X-Request-ID': 'bad id\twith junk' } });
  expect(refused.headers.get('x-request-id')).not.toBe('bad id\twith junk');
  // MCP doors hand the Node response to the SDK transports: the id is there too.
  const mcp = await http('POST', `${gw.httpUrl}/servers/nope/mcp`, {
    token: gw.mintToken('alice@example.com'),
    headers: { 'X-Request-ID': 'trace-mcp' },
    body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
  });
  expect([mcp.status, mcp.headers.get('x-request-id')]).toEqual([404, 'trace-mcp']);
});

test('an unknown route is a JSON 404 without internals (and, like every route but the public ones, needs auth first)', async () => {
  const res = await http('GET', `${gw.httpUrl}/nope`, { token: gw.mintToken('alice@example.com') });
  expect(res.status).toBe(404);
  expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  expect((await http('GET', `${gw.httpUrl}/nope`)).status).toBe(401);
});

test('a 404 does not echo the query string: a ?token= stays out of the body', async () => {
  const token = gw.mintToken('alice@example.com');
  const res = await http('GET', `${gw.httpUrl}/nope?token=${token}&x=secret`);
  expect(res.status).toBe(404);
  expect(res.body.message).toBe('Cannot GET /nope');
  expect(res.text).not.toContain('secret');
  expect(res.text).not.toContain(token);
});

test('Swagger UI is served at /docs', async () => {
  const res = await fetch(`${gw.httpUrl}/docs`);
  expect(res.status).toBe(200);
  expect(await res.text()).toMatch(/swagger/i);
});

test("Swagger UI keeps the token across reloads (persistAuthorization in the page's init script)", async () => {
  const page = await (await fetch(`${gw.httpUrl}/docs`)).text();
  const script = /src="\.?\/?(?:docs\/)?([^"]*swagger-ui-init\.js)"/.exec(page)?.[1];
  expect(script).toBeDefined();
  const init = await (await fetch(`${gw.httpUrl}/docs/${script}`)).text();
  expect(init).toMatch(/"persistAuthorization":\s*true/);
});

describe('/docs-json', () => {
  let doc: any;
  beforeAll(async () => {
    const res = await http('GET', `${gw.httpUrl}/docs-json`);
    expect(res.status).toBe(200);
    doc = res.body;
  });

  test('lists every route', () => {
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(operations).toEqual(
      [
        'GET /health',
        'GET /ready',
        'GET /reverse-proxy/sessions',
        'GET /reverse-proxy/sessions/{id}',
        'DELETE /reverse-proxy/sessions/{id}',
        'POST /reverse-proxy/sessions/{id}/request',
        'GET /reverse-proxy/sessions/{id}/access',
        'PUT /reverse-proxy/sessions/{id}/access',
        'GET /reverse-proxy/sessions/{id}/stats',
        'GET /reverse-proxy/sse',
        'GET /reverse-proxy/sse/{id}',
        'GET /servers',
        'POST /servers/{name}/mcp',
        'GET /servers/{name}/mcp',
        'DELETE /servers/{name}/mcp',
        'GET /servers/{name}/sse',
        'POST /servers/{name}/messages',
        'GET /.well-known/oauth-protected-resource',
        'GET /.well-known/oauth-protected-resource/servers/{name}/mcp',
        'GET /.well-known/oauth-protected-resource/servers/{name}/sse',
      ].sort(),
    );
  });

  test('every route has a summary and documents its success answer', () => {
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        expect([path, method, typeof op.summary]).toEqual([path, method, 'string']);
        expect([path, method, Object.keys(op.responses).some((code) => code.startsWith('2'))]).toEqual([path, method, true]);
      }
    }
  });

  test('admin and MCP routes require a bearer token; probes do not', () => {
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const op of Object.values(ops)) {
        expect([path, Boolean(op.security?.some((s: Record<string, unknown>) => 'bearer' in s))]).toEqual([
          path,
          path.startsWith('/reverse-proxy') || path.startsWith('/servers'),
        ]);
      }
    }
  });

  test('every protected operation documents the 401 (@Authenticated()); probes do not', () => {
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      const isProtected = path.startsWith('/reverse-proxy') || path.startsWith('/servers');
      for (const [method, op] of Object.entries(ops)) {
        expect([path, method, op.responses['401']?.description]).toEqual([
          path,
          method,
          isProtected ? 'Missing, invalid or expired token.' : undefined,
        ]);
      }
    }
  });

  test('POST request documents its body, query options and every outcome', () => {
    const op = doc.paths['/reverse-proxy/sessions/{id}/request'].post;
    expect(op.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/JsonRpcMessageDto');
    expect(op.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort()).toEqual(
      ['path:id', 'query:timeout_ms', 'query:wait'].sort(),
    );
    expect(Object.keys(op.responses).sort()).toEqual(['200', '202', '400', '401', '403', '404', '502', '503', '504']);
  });

  test('every 4xx and 5xx answer has an error schema: the gateway error, or on the MCP doors a JSON-RPC error (their 401 excepted)', () => {
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.ErrorResponseDto.properties).sort()).toEqual(['detail', 'error', 'message', 'statusCode']);
    expect(Object.keys(schemas.JsonRpcErrorResponseDto.properties).sort()).toEqual(['error', 'id', 'jsonrpc']);
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [code, response] of Object.entries(op.responses as Record<string, any>)) {
          if (!/^[45]/.test(code)) continue;
          const mcpDoor = path.startsWith('/servers/{name}/') && code !== '401';
          const expected = `#/components/schemas/${mcpDoor ? 'JsonRpcErrorResponseDto' : 'ErrorResponseDto'}`;
          const refs = Object.values((response.content ?? {}) as Record<string, any>).map((c) => c.schema?.$ref);
          expect([path, method, code, refs.length > 0 && refs.every((r) => r === expected)]).toEqual([path, method, code, true]);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  test('the POST request examples are whole requests or notifications: a method, never result or error beside it', () => {
    const content = doc.paths['/reverse-proxy/sessions/{id}/request'].post.requestBody.content['application/json'];
    const examples = Object.values(content.examples as Record<string, { value: Record<string, unknown> }>);
    expect(examples.length).toBeGreaterThan(0);
    for (const { value } of examples) {
      expect([value, typeof value.method, 'result' in value, 'error' in value]).toEqual([value, 'string', false, false]);
    }
    expect(content.example).toBeUndefined();
  });

  test('the introduction says how to get a token', () => {
    expect(doc.info.description).toContain('npm run token -- --sub');
  });

  test('answers are described with DTO schemas', () => {
    expect(doc.paths['/reverse-proxy/sessions'].get.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/SessionListDto',
    );
    expect(doc.paths['/reverse-proxy/sessions/{id}'].get.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/SessionDto',
    );
    expect(doc.paths['/reverse-proxy/sessions/{id}'].delete.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/DisconnectResultDto',
    );
    expect(Object.keys(doc.components.schemas.SessionDto.properties).sort()).toEqual(
      [
        'session_id',
        'name',
        'user',
        'state',
        'server_info',
        'connected_at',
        'last_activity',
        'message_count',
        'messages_in',
        'messages_out',
        'bytes_transferred',
        'bytes_in',
        'bytes_out',
        'pending_requests',
        'suspended',
        'role',
        'access',
      ].sort(),
    );
  });
});
