import { HandshakeError, initializeLocalServer, TUNNEL_CLIENT_CAPABILITIES } from '../../src/client/handshake.js';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../../src/protocol/json-rpc.js';

/** A scripted server: answers each initialize with the next entry. */
function scripted(answers: ((req: JsonRpcRequest) => Omit<JsonRpcResponse, 'jsonrpc' | 'id'>)[]) {
  const requests: JsonRpcRequest[] = [];
  const notifications: JsonRpcNotification[] = [];
  const warnings: string[] = [];
  return {
    requests,
    notifications,
    warnings,
    io: {
      call: async (req: JsonRpcRequest) => {
        requests.push(req);
        return { jsonrpc: '2.0', id: req.id, ...answers.shift()!(req) } as JsonRpcResponse;
      },
      notify: async (n: JsonRpcNotification) => {
        notifications.push(n);
      },
      warn: (m: string) => warnings.push(m),
    },
  };
}

const ok = (version: string) => () => ({
  result: { protocolVersion: version, capabilities: { tools: {} }, serverInfo: { name: 's', version: '1' } },
});
const refuse = () => ({ error: { code: -32602, message: 'Unsupported protocol version' } });

describe('initializeLocalServer', () => {
  test('offers the newest version and the tunnel capabilities, then sends initialized', async () => {
    const s = scripted([ok('2025-11-25')]);
    const result = await initializeLocalServer(s.io, { name: 'mcp-tunnel', version: '1' }, ['2025-11-25', '2025-06-18']);
    expect(s.requests[0]).toMatchObject({
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: TUNNEL_CLIENT_CAPABILITIES, clientInfo: { name: 'mcp-tunnel' } },
    });
    expect(s.notifications).toEqual([{ jsonrpc: '2.0', method: 'notifications/initialized' }]);
    expect(result).toEqual({ protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 's', version: '1' } });
  });

  test('accepts an older version the server proposes', async () => {
    const s = scripted([ok('2024-11-05')]);
    expect((await initializeLocalServer(s.io, { name: 't', version: '1' })).protocolVersion).toBe('2024-11-05');
    expect(s.requests).toHaveLength(1);
    expect(s.warnings).toEqual([]);
  });

  test('falls back to older versions when the server refuses with an error', async () => {
    const s = scripted([refuse, refuse, ok('2025-03-26')]);
    const result = await initializeLocalServer(s.io, { name: 't', version: '1' }, ['2025-11-25', '2025-06-18', '2025-03-26']);
    expect(s.requests.map((r) => (r.params as { protocolVersion: string }).protocolVersion)).toEqual([
      '2025-11-25',
      '2025-06-18',
      '2025-03-26',
    ]);
    expect(new Set(s.requests.map((r) => r.id)).size).toBe(3);
    expect(result.protocolVersion).toBe('2025-03-26');
  });

  test("gives up with the server's reason when no version is accepted", async () => {
    const s = scripted([refuse, refuse]);
    await expect(initializeLocalServer(s.io, { name: 't', version: '1' }, ['a', 'b'])).rejects.toThrow(
      new HandshakeError('the local server refused initialize: Unsupported protocol version (code -32602)'),
    );
    expect(s.notifications).toEqual([]);
  });

  test('refuses a result without protocolVersion or capabilities', async () => {
    const s = scripted([() => ({ result: { serverInfo: {} } })]);
    await expect(initializeLocalServer(s.io, { name: 't', version: '1' })).rejects.toThrow(/without protocolVersion/);
  });

  test('warns about (but relays) a version it does not know', async () => {
    const s = scripted([ok('2099-01-01')]);
    await initializeLocalServer(s.io, { name: 't', version: '1' });
    expect(s.warnings[0]).toMatch(/2099-01-01/);
  });
});
