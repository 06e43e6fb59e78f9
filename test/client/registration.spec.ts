import { buildRegistration, sameRegistration, toServerName } from '../../src/client/registration.js';
import type { HandshakeResult } from '../../src/client/handshake.js';

const handshake: HandshakeResult = {
  protocolVersion: '2025-06-18',
  capabilities: { tools: {} },
  serverInfo: { name: 'example-servers/everything', title: 'Everything', version: '2.0.0', description: 'All features' },
  instructions: 'Use it well',
};

describe('toServerName', () => {
  test.each([
    ['@modelcontextprotocol/server-everything', 'modelcontextprotocol-server-everything'],
    ['example-servers/everything', 'example-servers-everything'],
    ['My Server v1.0', 'My-Server-v1.0'],
    ['already_fine-1.2', 'already_fine-1.2'],
    ['///', 'mcp-server'],
    ['', 'mcp-server'],
    ['x'.repeat(300), 'x'.repeat(128)],
  ])('%s -> %s', (raw, name) => {
    expect(toServerName(raw)).toBe(name);
  });
});

describe('buildRegistration', () => {
  test('describes the server from its initialize result', () => {
    const { server, warnings } = buildRegistration({ handshake, protocol: 'stdio' });
    expect(server).toEqual({
      name: 'example-servers-everything',
      title: 'Everything',
      description: 'All features',
      version: '2.0.0',
      protocolVersion: '2025-06-18',
      capabilities: { tools: {} },
      instructions: 'Use it well',
      serverInfo: handshake.serverInfo,
      protocol: 'stdio',
    });
    expect(warnings).toEqual([]);
  });

  test('--name and --server-description win', () => {
    const { server } = buildRegistration({ handshake, protocol: 'sse', name: 'mine', description: 'Mine' });
    expect(server).toMatchObject({ name: 'mine', description: 'Mine', protocol: 'sse' });
  });

  test('fits the gateway limits instead of being refused', () => {
    const big = {
      ...handshake,
      instructions: 'i'.repeat(20_000),
      serverInfo: { name: 's', version: '1', icons: [{ src: `data:image/png;base64,${'A'.repeat(20_000)}` }] },
    };
    const { server, warnings } = buildRegistration({ handshake: big, protocol: 'stdio' });
    expect(server.instructions).toHaveLength(16384);
    expect(server.serverInfo).toEqual({ name: 's', version: '1' });
    expect(warnings).toHaveLength(2);
  });
});

describe('sameRegistration', () => {
  const base = {
    name: 'notes',
    version: '1.0.0',
    capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: false } },
  };

  test('the same name and capabilities, whatever the order of their keys and whatever else changed', () => {
    const restarted = {
      description: 'now with a description',
      version: '1.0.1',
      instructions: 'new',
      capabilities: { resources: { listChanged: false, subscribe: true }, tools: { listChanged: true } },
      name: 'notes',
    };
    expect(sameRegistration(base, restarted)).toBe(true);
    expect(sameRegistration({ name: 'a' }, { name: 'a', capabilities: {} })).toBe(true);
  });

  test.each([
    ['another name', { ...base, name: 'notes-2' }],
    ['a capability more', { ...base, capabilities: { ...base.capabilities, prompts: {} } }],
    ['a capability less', { ...base, capabilities: { tools: { listChanged: true } } }],
    ['a nested value changed', { ...base, capabilities: { ...base.capabilities, resources: { subscribe: false, listChanged: false } } }],
  ])('differs with %s', (_what, restarted) => {
    expect(sameRegistration(base, restarted)).toBe(false);
  });
});
