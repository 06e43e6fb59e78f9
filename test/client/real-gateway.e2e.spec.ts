/**
 * The real CLI and fixture against the real gateway (test/support/gateway.ts): a tool call from
 * POST /reverse-proxy/sessions/:id/request through the tunnel and back, a crash seen by the
 * caller and by an MCP client, which both carry on in the same sessions, and a gateway restart
 * behind the same URL.
 */
import { ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { eventually } from '../support/wait.js';
import { connectStreamable, textOf } from '../support/mcp-clients.js';
import { CliProcess, FIXTURE_COMMAND, killAll, waitUntil } from './helpers/cli-process.js';
import { Forwarder } from './helpers/forwarder.js';

interface SessionInfo {
  session_id: string;
  name: string;
}

async function sessions(gw: RunningGateway, token: string): Promise<SessionInfo[]> {
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sessions: SessionInfo[] }).sessions;
}

async function post(gw: RunningGateway, token: string, sessionId: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** The CLI sharing the fixture as `name` through `gatewayUrl`, reconnecting and restarting within 50 ms. */
function startCli(gatewayUrl: string, token: string, name: string): CliProcess {
  return new CliProcess([
    '--local-stdio',
    FIXTURE_COMMAND,
    '--gateway',
    gatewayUrl,
    '--token',
    token,
    '--name',
    name,
    '--reconnect-delay',
    '0.05',
  ]);
}

describe('against the real gateway', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterEach(() => killAll());
  afterAll(() => gw.close());

  test('a tool call from POST /reverse-proxy/sessions/:id/request goes through the tunnel and back', async () => {
    const token = gw.mintToken('alice@example.com');
    const cli = new CliProcess(['--local-stdio', FIXTURE_COMMAND, '--gateway', gw.httpUrl, '--token', token, '--name', 'e2e-echo']);
    const [, sessionId] = await cli.waitForLog(/connected as session (\S+)/);
    await cli.waitForLog(/registered as "e2e-echo"/);
    expect((await sessions(gw, token)).map((s) => [s.session_id, s.name])).toContainEqual([sessionId, 'e2e-echo']);

    const { status, json } = await post(gw, token, sessionId, {
      jsonrpc: '2.0',
      id: 42,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'through the gateway' } },
    });
    expect(status).toBe(200);
    expect(json).toEqual({ jsonrpc: '2.0', id: 42, result: { content: [{ type: 'text', text: 'through the gateway' }] } });

    cli.kill('SIGTERM');
    expect((await cli.waitForExit()).code).toBe(0);
    await eventually(async () => !(await sessions(gw, token)).some((s) => s.session_id === sessionId), 'the session is gone');
  });

  test('a crash fails the waiting caller at once; the restarted server carries on the same tunnel session', async () => {
    const token = gw.mintToken('bob@example.com');
    const cli = startCli(gw.httpUrl, token, 'e2e-crash');
    const [, firstSession] = await cli.waitForLog(/connected as session (\S+)/);
    await cli.waitForLog(/registered as/);

    const { json } = await post(gw, token, firstSession, {
      jsonrpc: '2.0',
      id: 'c',
      method: 'tools/call',
      params: { name: 'crash', arguments: { code: 3 } },
    });
    expect(json).toMatchObject({ jsonrpc: '2.0', id: 'c', error: { message: expect.stringMatching(/local server exited with code 3/) } });

    await cli.waitForLog(/local server restarted; tunnel session kept/);
    expect((await sessions(gw, token)).filter((s) => s.name === 'e2e-crash').map((s) => s.session_id)).toEqual([firstSession]);
    const again = await post(gw, token, firstSession, {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'ok' } },
    });
    expect(again.json.result.content[0].text).toBe('ok');
    expect([...cli.stderr.matchAll(/registered as "e2e-crash"/g)]).toHaveLength(1);
  });

  test('an MCP client keeps its session through a crash of the local server: list_changed tells it to refetch, its subscription holds', async () => {
    const token = gw.mintToken('frank@example.com');
    const cli = startCli(gw.httpUrl, token, 'e2e-local-restart');
    const [, tunnelSession] = await cli.waitForLog(/connected as session (\S+)/);
    await cli.waitForLog(/registered as "e2e-local-restart"/);

    const { client, transport } = await connectStreamable(gw.httpUrl, 'e2e-local-restart', token);
    try {
      const mcpSession = transport.sessionId;
      expect(mcpSession).toEqual(expect.any(String));
      let toolsChanged = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => void toolsChanged++);
      let updates = 0;
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => void (n.params.uri === 'fixture://hello' && updates++));
      await client.subscribeResource({ uri: 'fixture://hello' });
      /** `touch` until an update arrives: the first may come before the client's GET stream is open, and be lost. */
      const touchUntilUpdated = async (what: string) => {
        const before = updates;
        const deadline = Date.now() + 10_000;
        while (updates === before) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          // 'not subscribed' when the server running now does not hold the subscription.
          expect(textOf(await client.callTool({ name: 'touch', arguments: { uri: 'fixture://hello' } }))).toBe('updated');
          await waitUntil(() => updates > before, what, 500).catch(() => undefined);
        }
      };
      await touchUntilUpdated('an update before the crash');
      expect(toolsChanged).toBe(0);

      await expect(client.callTool({ name: 'crash', arguments: { code: 3 } })).rejects.toThrow(/local server exited with code 3/);
      await cli.waitForLog(/local server restarted; tunnel session kept, 1 subscription restored/);
      await waitUntil(() => toolsChanged === 1, 'tools/list_changed reached the MCP client');

      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'same session' } }))).toBe('same session');
      expect(transport.sessionId).toBe(mcpSession);
      await touchUntilUpdated('an update from the restarted server');
      // One tunnel session all along: never unregistered, never registered again.
      expect([...cli.stderr.matchAll(/connected as session (\S+)/g)].map((m) => m[1])).toEqual([tunnelSession]);
      expect((await sessions(gw, token)).filter((s) => s.name === 'e2e-local-restart').map((s) => s.session_id)).toEqual([tunnelSession]);
      expect(cli.serverPids).toHaveLength(2);
    } finally {
      await client.close();
    }
  });

  test('a second tunnel of the same user under the same name replaces the first, which exits instead of fighting back', async () => {
    const token = gw.mintToken('dave@example.com');
    const first = startCli(gw.httpUrl, token, 'e2e-twice');
    await first.waitForLog(/registered as "e2e-twice"/);
    const second = startCli(gw.httpUrl, token, 'e2e-twice');
    const [, secondSession] = await second.waitForLog(/connected as session (\S+)/);

    expect((await first.waitForExit()).code).toBe(1);
    expect(first.stderr).toContain('another tunnel registered the name "e2e-twice" and replaced this one');
    expect((await sessions(gw, token)).filter((s) => s.name === 'e2e-twice').map((s) => s.session_id)).toEqual([secondSession]);
    expect(second.hasExited).toBe(false);
  });
});

test('a gateway restart: the client reconnects and registers again under the same name', async () => {
  const forwarder = await Forwarder.start();
  let gw = await startGateway();
  try {
    forwarder.target = gw.port;
    const token = gw.mintToken('carol@example.com');
    const cli = startCli(forwarder.url, token, 'e2e-restart');
    await cli.waitForLog(/registered as "e2e-restart"/);

    await gw.close();
    // Same secret, so the token still holds; same address in front of it.
    gw = await startGateway();
    forwarder.target = gw.port;

    await waitUntil(
      () => [...cli.stderr.matchAll(/registered as "e2e-restart"/g)].length === 2,
      'the tunnel registered with the new gateway',
      20_000,
    );
    const [session] = (await sessions(gw, token)).filter((s) => s.name === 'e2e-restart');
    const { json } = await post(gw, token, session.session_id, {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'after restart' } },
    });
    expect(json.result.content[0].text).toBe('after restart');
    expect(cli.serverPids).toHaveLength(1);
  } finally {
    await killAll();
    await gw.close();
    await forwarder.close();
  }
});
