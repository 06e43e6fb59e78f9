/**
 * Sharing rules x doors, on the real gateway with real tunnels (SDK servers behind the tunnel
 * protocol) and the official MCP SDK clients: for each rule set (only me, a named user, a group,
 * everyone) and each caller (owner, the named user, a group member, another user, an admin), what
 * every door answers. Tokens are HS256 with a `groups` claim; the audit is read from the log.
 */
import 'reflect-metadata';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import jwt from 'jsonwebtoken';
import { GatewayLogger } from '../../src/common/gateway-logger.js';
import { startGateway, TEST_SECRET, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { connectLegacySse, connectStreamable, textOf } from '../support/mcp-clients.js';
import { SseStream } from '../support/sse.js';
import { createTestServer } from '../support/test-mcp-server.js';
import { serveThroughTunnel, type TunnelledServer } from '../support/tunnelled-mcp-server.js';
import { eventually } from '../support/wait.js';

const lines: string[] = [];
let gw: RunningGateway;
const tunnels: TunnelledServer[] = [];
const sessionOf: Record<string, string> = {};

type Caller = 'owner' | 'named' | 'member' | 'other' | 'admin';
const CALLERS: Caller[] = ['owner', 'named', 'member', 'other', 'admin'];
const tokens = {} as Record<Caller, string>;
const USERS: Record<Caller, { sub: string; groups?: string[]; is_admin?: boolean }> = {
  owner: { sub: 'alice@example.com', groups: ['eng'] },
  named: { sub: 'bob@example.com' },
  member: { sub: 'carol@example.com', groups: ['eng', 'ops'] },
  other: { sub: 'dave@example.com', groups: ['sales'] },
  admin: { sub: 'root@example.com', is_admin: true },
};

/** One server per rule set, all alice's, and the rules the owner PUTs on it. */
const RULES: Record<string, Record<string, unknown> | undefined> = {
  'only-me': undefined,
  'named-user': { users: ['bob@example.com'] },
  group: { groups: ['eng'] },
  everyone: { everyone: true },
};

/** The role each caller should have on each server (undefined: none, refused). */
const EXPECTED: Record<string, Record<Caller, string | undefined>> = {
  'only-me': { owner: 'owner', named: undefined, member: undefined, other: undefined, admin: 'admin' },
  'named-user': { owner: 'owner', named: 'user', member: undefined, other: undefined, admin: 'admin' },
  group: { owner: 'owner', named: undefined, member: 'user', other: undefined, admin: 'admin' },
  everyone: { owner: 'owner', named: 'user', member: 'user', other: 'user', admin: 'admin' },
};

/** How the SDK's Streamable HTTP client reports the door's 403 (StreamableHTTPError: the status as `code`). */
const REFUSED_403 = { code: 403, message: expect.stringContaining('Not authorized for this server') };

const sign = (claims: Record<string, unknown>) => jwt.sign(claims, TEST_SECRET, { algorithm: 'HS256', expiresIn: '1h' });
const audit = () =>
  lines.map((l) => (JSON.parse(l) as { message: Record<string, unknown> }).message).filter((m) => typeof m === 'object' && m !== null);

beforeAll(async () => {
  const logger = new GatewayLogger({ format: 'json', level: 'info', write: (_stream, line) => void lines.push(line) });
  gw = await startGateway({ LOG_LEVEL: 'info' }, { logger });
  for (const caller of CALLERS) tokens[caller] = sign(USERS[caller]);
  for (const [name, rules] of Object.entries(RULES)) {
    const tunnel = await serveThroughTunnel(gw.tunnelUrl, tokens.owner, name, createTestServer().server);
    tunnels.push(tunnel);
    sessionOf[name] = tunnel.sessionId;
    if (rules) {
      const res = await http('PUT', `${gw.httpUrl}/reverse-proxy/sessions/${tunnel.sessionId}/access`, {
        token: tokens.owner,
        body: rules,
      });
      expect(res.status).toBe(200);
    }
  }
}, 30_000);

afterAll(async () => {
  await Promise.all(tunnels.map((t) => t.close()));
  await gw?.close();
});

const table = Object.keys(RULES).flatMap((name) => CALLERS.map((caller) => [name, caller, EXPECTED[name][caller]] as const));

describe.each(table)('server %s, caller %s (role %s)', (name, caller, role) => {
  const token = () => tokens[caller];
  const sessionUrl = () => `${gw.httpUrl}/reverse-proxy/sessions/${sessionOf[name]}`;

  test('REST request: a role uses it, anyone else gets 403', async () => {
    const res = await http('POST', `${sessionUrl()}/request`, {
      token: token(),
      body: { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: `rest ${caller}` } } },
    });
    expect(res.status).toBe(role ? 200 : 403);
    if (role) expect(res.body.result.content[0].text).toBe(`rest ${caller}`);
    else expect(res.body.message).toBe('Not authorized for this session');
  });

  test("REST event stream: the owner and admins only (it carries every caller's answers)", async () => {
    const stream = await SseStream.open(`${gw.httpUrl}/reverse-proxy/sse/${sessionOf[name]}`, { Authorization: `Bearer ${token()}` });
    try {
      const allowed = role === 'owner' || role === 'admin';
      expect(stream.status).toBe(allowed ? 200 : 403);
      if (allowed) expect((await stream.next((e) => e.event === 'connected')).event).toBe('connected');
    } finally {
      await stream.close();
    }
  });

  test('MCP Streamable HTTP (SDK client): a role calls a tool, anyone else is refused with 403', async () => {
    const connecting = connectStreamable(gw.httpUrl, name, token());
    if (!role) {
      await expect(connecting).rejects.toMatchObject(REFUSED_403);
      return;
    }
    const { client } = await connecting;
    try {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: `mcp ${caller}` } }))).toBe(`mcp ${caller}`);
    } finally {
      await client.close();
    }
  });

  test('MCP legacy HTTP+SSE (SDK client): the same rule', async () => {
    const connecting = connectLegacySse(gw.httpUrl, name, token());
    if (!role) {
      await expect(connecting).rejects.toThrow(/403/);
      return;
    }
    const { client } = await connecting;
    try {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: `sse ${caller}` } }))).toBe(`sse ${caller}`);
    } finally {
      await client.close();
    }
  });

  test('/servers lists the server with the role, or not at all; the session listing agrees', async () => {
    const servers = (await http('GET', `${gw.httpUrl}/servers`, { token: token() })).body.servers as { name: string; role: string }[];
    expect(servers.find((s) => s.name === name)?.role).toBe(role);
    const sessions = (await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: token() })).body.sessions as {
      name: string;
      role: string;
      access?: unknown;
    }[];
    const listed = sessions.find((s) => s.name === name);
    expect(listed?.role).toBe(role);
    // The rules are the owner's and admins' business.
    if (listed) expect('access' in listed).toBe(role === 'owner' || role === 'admin');
  });
});

describe('managing the rules', () => {
  const accessUrl = (name: string) => `${gw.httpUrl}/reverse-proxy/sessions/${sessionOf[name]}/access`;

  test('GET shows the rules to the owner and admins; a shared user and others get 403', async () => {
    for (const caller of ['owner', 'admin'] as const) {
      const res = await http('GET', accessUrl('group'), { token: tokens[caller] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        session_id: sessionOf.group,
        name: 'group',
        owner: 'alice@example.com',
        users: [],
        groups: ['eng'],
        everyone: false,
      });
    }
    expect((await http('GET', accessUrl('group'), { token: tokens.member })).status).toBe(403);
    expect((await http('GET', accessUrl('group'), { token: tokens.other })).status).toBe(403);
  });

  test('PUT by a shared user is refused (403, audited); by an admin it is taken and audited', async () => {
    const refused = await http('PUT', accessUrl('everyone'), { token: tokens.named, body: { everyone: false } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ statusCode: 403, message: 'Not authorized for this session' });
    expect(audit()).toContainEqual(
      expect.objectContaining({ msg: 'use refused', who: 'bob@example.com', server: 'everyone', door: 'access', at: expect.any(String) }),
    );

    const taken = await http('PUT', accessUrl('everyone'), { token: tokens.admin, body: { everyone: true, users: ['erin@example.com'] } });
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ users: ['erin@example.com'], groups: [], everyone: true });
    expect(audit()).toContainEqual({
      msg: 'access rules changed',
      by: 'root@example.com',
      session: sessionOf.everyone,
      server: 'everyone',
      rules: { users: ['erin@example.com'], groups: [], everyone: true },
      via: 'rest',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  test('invalid bodies get 400 naming the problem, and change nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [{ users: [1] }, /users must be a list of strings/],
      [{ users: 'bob' }, /users must be a list of strings/],
      [{ everyone: 'yes' }, /everyone must be true or false/],
      [{ owner: 'mallory' }, /property owner should not exist/],
      [{ users: Array.from({ length: 101 }, (_, i) => `u${i}@example.com`) }, /at most 100/],
      [{ groups: ['a,b'] }, /commas or control characters/],
      [[], /one JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await http('PUT', accessUrl('group'), { token: tokens.owner, body });
      expect([JSON.stringify(body).slice(0, 40), res.status]).toEqual([JSON.stringify(body).slice(0, 40), 400]);
      expect(res.body.message).toMatch(message);
    }
    expect((await http('GET', accessUrl('group'), { token: tokens.owner })).body.groups).toEqual(['eng']);
  });

  test('each example the API docs offer for PUT works as sent', async () => {
    const doc = (await http('GET', `${gw.httpUrl}/docs-json`)).body;
    const op = doc.paths['/reverse-proxy/sessions/{id}/access'].put;
    expect(doc.paths['/reverse-proxy/sessions/{id}/access'].get).toBeDefined();
    expect(op.responses['403'].content['application/json'].schema.$ref).toBe('#/components/schemas/ErrorResponseDto');
    const examples = Object.entries(op.requestBody.content['application/json'].examples as Record<string, { value: unknown }>);
    expect(examples.length).toBeGreaterThanOrEqual(3);
    const scratch = await serveThroughTunnel(gw.tunnelUrl, tokens.owner, 'scratch', createTestServer().server);
    tunnels.push(scratch);
    for (const [example, { value }] of examples) {
      const res = await http('PUT', `${gw.httpUrl}/reverse-proxy/sessions/${scratch.sessionId}/access`, {
        token: tokens.owner,
        body: value,
      });
      expect([example, res.status]).toEqual([example, 200]);
    }
  });

  test("revoking a user's access refuses its open MCP session at the next request (403, audited)", async () => {
    const victim = await serveThroughTunnel(gw.tunnelUrl, tokens.owner, 'revoked', createTestServer().server);
    tunnels.push(victim);
    const url = `${gw.httpUrl}/reverse-proxy/sessions/${victim.sessionId}/access`;
    expect((await http('PUT', url, { token: tokens.owner, body: { users: ['bob@example.com'] } })).status).toBe(200);
    const { client } = await connectStreamable(gw.httpUrl, 'revoked', tokens.named);
    const clients: Client[] = [client];
    try {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');
      expect((await http('PUT', url, { token: tokens.owner, body: {} })).status).toBe(200);
      await expect(client.callTool({ name: 'echo', arguments: { text: 'after' } })).rejects.toMatchObject(REFUSED_403);
      expect(audit()).toContainEqual(
        expect.objectContaining({ msg: 'use refused', who: 'bob@example.com', server: 'revoked', door: 'mcp' }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    }
  });
});

test('the audit names refused uses of each door, and no token ever reaches the log', async () => {
  await eventually(() => audit().some((m) => m.msg === 'use refused' && m.door === 'legacy-sse'), 'the legacy door refusals to be logged');
  const refused = audit().filter((m) => m.msg === 'use refused' && m.who === 'dave@example.com');
  expect(new Set(refused.map((m) => m.door))).toEqual(new Set(['rest', 'sse', 'mcp', 'legacy-sse', 'access']));
  for (const line of refused) expect(Object.keys(line).sort()).toEqual(['at', 'door', 'msg', 'server', 'session', 'who']);
  const all = lines.join('\n');
  for (const token of Object.values(tokens)) {
    expect(all.includes(token)).toBe(false);
    expect(all.includes(token.split('.')[2])).toBe(false);
  }
});
