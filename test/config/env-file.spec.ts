import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/app-config.js';
import { withEnvFile } from '../../src/config/env-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'env-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('no .env: the environment as it is', () => {
  expect(withEnvFile({ PORT: '1' }, dir)).toEqual({ env: { PORT: '1' }, file: undefined, fromFile: 0 });
});

test('.env fills in what the environment does not set; a set (non-empty) variable wins, an empty one counts as unset', () => {
  writeFileSync(join(dir, '.env'), '# comment\nPORT=4000\nHOST=127.0.0.1\nJWT_SECRET="quoted secret value"\nLOG_LEVEL=debug\n');
  const { env, file, fromFile } = withEnvFile({ PORT: '5000', LOG_LEVEL: '', OTHER: 'x' }, dir);
  expect(env).toEqual({ PORT: '5000', HOST: '127.0.0.1', JWT_SECRET: 'quoted secret value', LOG_LEVEL: 'debug', OTHER: 'x' });
  expect([file, fromFile]).toEqual([join(dir, '.env'), 3]);
});

test('a .env that cannot be read stops the start with a ConfigError naming it', () => {
  mkdirSync(join(dir, '.env'));
  expect(() => withEnvFile({}, dir)).toThrow(ConfigError);
  expect(() => withEnvFile({}, dir)).toThrow(/\.env could not be read \(EISDIR\)/);
});
