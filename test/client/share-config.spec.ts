import { ConfigError, resolveConfig } from '../../src/client/config.js';
import { parseTunnelFrame } from '../../src/protocol/envelopes.js';

const base = { gateway: 'ws://gw.example:3000', localStdio: 'node server.js' };

describe('the client resolves share', () => {
  test('--share, in the --share syntax; absent: only the owner (no share sent)', () => {
    expect(resolveConfig({ ...base, share: 'bob@example.com,group:eng' }, {}).tunnels[0].share).toEqual({
      users: ['bob@example.com'],
      groups: ['eng'],
      everyone: false,
    });
    expect(resolveConfig(base, {}).tunnels[0].share).toBeUndefined();
  });

  test("a file's share: per server, the top level as the default, --share over both", () => {
    const file = {
      gateway: 'ws://gw.example:3000',
      share: 'group:eng',
      servers: [
        { name: 'a', command: 'node a.js', share: ['*'] },
        { name: 'b', command: 'node b.js' },
      ],
    };
    const fromFile = resolveConfig({}, {}, file).tunnels.map((t) => t.share);
    expect(fromFile).toEqual([
      { users: [], groups: [], everyone: true },
      { users: [], groups: ['eng'], everyone: false },
    ]);
    const overridden = resolveConfig({ share: 'bob@example.com' }, {}, file).tunnels.map((t) => t.share?.users);
    expect(overridden).toEqual([['bob@example.com'], ['bob@example.com']]);
  });

  test('a bad share is a ConfigError naming where and what', () => {
    expect(() => resolveConfig({ ...base, share: 'group:' }, {})).toThrow(
      new ConfigError('Invalid share (--share): groups[0] must be 1 to 256 characters'),
    );
    expect(() => resolveConfig({}, {}, { ...base, share: 42 })).toThrow(/"share" in the config file must be a string/);
  });
});

describe('register.share on the wire', () => {
  test('validated and kept; absent stays absent', () => {
    const frame = parseTunnelFrame({ type: 'register', server: { name: 'x' }, share: { users: ['bob'], everyone: false } });
    expect(frame).toEqual({
      ok: true,
      value: { type: 'register', server: { name: 'x' }, share: { users: ['bob'], groups: [], everyone: false } },
    });
    expect(parseTunnelFrame({ type: 'register', server: { name: 'x' } })).toEqual({
      ok: true,
      value: { type: 'register', server: { name: 'x' } },
    });
  });

  test('a hostile share is refused with the field named', () => {
    expect(parseTunnelFrame({ type: 'register', server: {}, share: { users: Array(1000).fill('u') } })).toEqual({
      ok: false,
      error: 'register.share: users may name at most 100 entries',
    });
    expect(parseTunnelFrame({ type: 'register', server: {}, share: 'everyone' })).toEqual({
      ok: false,
      error: 'register.share: share must be an object {users, groups, everyone}',
    });
  });
});
