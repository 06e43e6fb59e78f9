/** --forward-identity / `forwardIdentity:` and the token file kept for rotation (src/client/config.ts). */
import { ConfigError, resolveConfig } from '../../src/client/config.js';

const base = { gateway: 'http://gw.example', localStdio: 'node server.js' };
const reader = (path: string) => `token-from-${path}`;

test('--forward-identity, the file top level and each server entry decide, the command line winning', () => {
  expect(resolveConfig(base, {}).tunnels[0].forwardIdentity).toBe(false);
  expect(resolveConfig({ ...base, forwardIdentity: true }, {}).tunnels[0].forwardIdentity).toBe(true);
  expect(resolveConfig(base, {}, { forwardIdentity: true }).tunnels[0].forwardIdentity).toBe(true);
  const file = {
    gateway: 'http://gw.example',
    forwardIdentity: true,
    servers: [
      { name: 'a', command: 'a' },
      { name: 'b', command: 'b', forwardIdentity: false },
    ],
  };
  expect(resolveConfig({}, {}, file).tunnels.map((t) => t.forwardIdentity)).toEqual([true, false]);
  expect(resolveConfig({ forwardIdentity: true }, {}, file).tunnels.map((t) => t.forwardIdentity)).toEqual([true, true]);
  expect(() => resolveConfig(base, {}, { forwardIdentity: 'yes' })).toThrow(ConfigError);
  expect(() => resolveConfig(base, {}, { forwardIdentity: 'yes' })).toThrow('"forwardIdentity" in the config file must be true or false');
});

test('the token file is kept (to be read again) only when the token comes from it', () => {
  const fromCli = resolveConfig({ ...base, tokenFile: '/cli' }, {}, {}, reader).tunnels[0];
  expect(fromCli).toMatchObject({ token: 'token-from-/cli', tokenFile: '/cli' });
  const fromFile = resolveConfig(base, {}, { tokenFile: '/file' }, reader).tunnels[0];
  expect(fromFile).toMatchObject({ token: 'token-from-/file', tokenFile: '/file' });
  // The environment wins over the config file's tokenFile, and cannot be re-read.
  const fromEnv = resolveConfig(base, { MCP_TUNNEL_TOKEN: 'env-token' }, { tokenFile: '/file' }, reader).tunnels[0];
  expect(fromEnv.token).toBe('env-token');
  expect(fromEnv.tokenFile).toBeUndefined();
  expect(resolveConfig({ ...base, token: 'flag' }, {}, {}, reader).tunnels[0].tokenFile).toBeUndefined();
});
