import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfigFile, resolveConfig, type CliValues } from '../../src/client/config.js';
import { readConfigFile, readTokenFile, TOKEN_FILE_MAX_BYTES } from '../../src/client/config-file.js';

const STDIO = { localStdio: 'node server.js' };

describe('resolveConfig precedence: command line > environment > config file > defaults', () => {
  const file = parseConfigFile({
    gateway: 'http://file:1',
    token: 'file-token',
    reconnectDelay: 7,
    'max-retries': 9,
    keepalive: 11,
    logLevel: 'warn',
    command: 'node from-file.js',
    name: 'from-file',
  });

  test('defaults when nothing else is given', () => {
    const { logLevel, tunnels } = resolveConfig({ ...STDIO, gateway: 'http://g' }, {});
    expect(logLevel).toBe('info');
    expect(tunnels[0]).toMatchObject({
      reconnectDelayMs: 1000,
      maxRetries: 0,
      keepaliveMs: 30_000,
      startupTimeoutMs: 60_000,
      requestTimeoutMs: undefined,
      maxRestarts: 5,
      maxBuffered: 1000,
      resume: true,
      resumeBufferBytes: 8 * 1024 * 1024,
      insecure: false,
      token: undefined,
      name: undefined,
    });
  });

  test('the config file applies when nothing overrides it', () => {
    const { logLevel, tunnels } = resolveConfig({}, {}, file);
    expect(logLevel).toBe('warn');
    expect(tunnels).toHaveLength(1);
    expect(tunnels[0]).toMatchObject({
      token: 'file-token',
      reconnectDelayMs: 7000,
      maxRetries: 9,
      keepaliveMs: 11_000,
      name: 'from-file',
      local: { kind: 'stdio', command: 'node', args: ['from-file.js'] },
    });
    expect(tunnels[0].gatewayUrl.href).toBe('ws://file:1/reverse-proxy/ws');
  });

  test('the environment beats the file', () => {
    const env = {
      REVERSE_PROXY_GATEWAY: 'https://env.example',
      REVERSE_PROXY_TOKEN: 'env-token',
      REVERSE_PROXY_RECONNECT_DELAY: '2.5',
      REVERSE_PROXY_MAX_RETRIES: '3',
      REVERSE_PROXY_LOG_LEVEL: 'error',
    };
    const { logLevel, tunnels } = resolveConfig({}, env, file);
    expect(logLevel).toBe('error');
    expect(tunnels[0]).toMatchObject({ token: 'env-token', reconnectDelayMs: 2500, maxRetries: 3, keepaliveMs: 11_000 });
    expect(tunnels[0].gatewayUrl.href).toBe('wss://env.example/reverse-proxy/ws');
  });

  test('the command line beats the environment and the file', () => {
    const cli: CliValues = {
      gateway: 'ws://cli:2',
      token: 'cli-token',
      reconnectDelay: '0.5',
      maxRetries: '1',
      keepalive: '4',
      logLevel: 'debug',
      serverName: 'from-cli',
      localStdio: 'python -m srv',
    };
    const env = { REVERSE_PROXY_GATEWAY: 'https://env', REVERSE_PROXY_TOKEN: 'env-token', REVERSE_PROXY_MAX_RETRIES: '3' };
    const { logLevel, tunnels } = resolveConfig(cli, env, file);
    expect(logLevel).toBe('debug');
    expect(tunnels[0]).toMatchObject({
      token: 'cli-token',
      reconnectDelayMs: 500,
      maxRetries: 1,
      keepaliveMs: 4000,
      name: 'from-cli',
      local: { kind: 'stdio', command: 'python', args: ['-m', 'srv'] },
    });
    expect(tunnels[0].gatewayUrl.href).toBe('ws://cli:2/reverse-proxy/ws');
  });

  test('--verbose means debug', () => {
    expect(resolveConfig({ ...STDIO, gateway: 'http://g', verbose: true, logLevel: 'error' }, {}).logLevel).toBe('debug');
  });

  test('resumption: on by default; --no-resume or `resume: false` turn it off; --resume-buffer in bytes', () => {
    const base = { ...STDIO, gateway: 'http://g' };
    // commander hands over resume: true when --no-resume is absent, false when given.
    expect(resolveConfig({ ...base, resume: true }, {}).tunnels[0].resume).toBe(true);
    expect(resolveConfig({ ...base, resume: false }, {}).tunnels[0].resume).toBe(false);
    expect(resolveConfig({ ...base, resume: true }, {}, parseConfigFile({ resume: false })).tunnels[0].resume).toBe(false);
    expect(resolveConfig(base, {}, parseConfigFile({ 'resume-buffer': 4096 })).tunnels[0].resumeBufferBytes).toBe(4096);
    expect(resolveConfig({ ...base, resumeBuffer: '1024' }, {}, parseConfigFile({ resumeBuffer: 4096 })).tunnels[0].resumeBufferBytes).toBe(
      1024,
    );
    expect(() => resolveConfig(base, {}, parseConfigFile({ resume: 'no' }))).toThrow(/"resume" in the config file must be true or false/);
    for (const resumeBuffer of ['0', '-5', '1.5', 'lots']) {
      expect(() => resolveConfig({ ...base, resumeBuffer }, {})).toThrow(/The resume buffer must be a whole number of at least 1/);
    }
  });

  test('--request-timeout and --startup-timeout are separate', () => {
    const [t] = resolveConfig({ ...STDIO, gateway: 'http://g', requestTimeout: '12', startupTimeout: '90' }, {}).tunnels;
    expect(t.requestTimeoutMs).toBe(12_000);
    expect(t.startupTimeoutMs).toBe(90_000);
  });
});

describe('resolveConfig servers', () => {
  test('a servers list gives one tunnel per entry, sharing the global settings', () => {
    const file = parseConfigFile({
      gateway: 'https://gw',
      servers: [
        { name: 'files', command: 'npx -y @modelcontextprotocol/server-filesystem /tmp', env: { DEBUG: 1 } },
        { name: 'py', command: '/opt/my server/bin/python', args: ['-m', 'srv'], cwd: '/srv' },
        { name: 'remote', 'streamable-http': 'http://localhost:8080/mcp' },
        { sse: 'http://localhost:9000/sse', description: 'old one' },
      ],
    });
    const { tunnels } = resolveConfig({}, { REVERSE_PROXY_TOKEN: 't' }, file);
    expect(tunnels.map((t) => [t.name, t.local, t.token])).toEqual([
      [
        'files',
        { kind: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'], env: { DEBUG: '1' } },
        't',
      ],
      ['py', { kind: 'stdio', command: '/opt/my server/bin/python', args: ['-m', 'srv'], cwd: '/srv' }, 't'],
      ['remote', { kind: 'streamable-http', url: 'http://localhost:8080/mcp' }, 't'],
      [undefined, { kind: 'sse', url: 'http://localhost:9000/sse' }, 't'],
    ]);
    expect(tunnels[3].description).toBe('old one');
  });

  test('a local server on the command line replaces the file list', () => {
    const file = parseConfigFile({ gateway: 'https://gw', servers: [{ command: 'a' }, { command: 'b' }] });
    const { tunnels } = resolveConfig({ localSse: 'http://127.0.0.1:1/sse', name: 'x' }, {}, file);
    expect(tunnels.map((t) => [t.name, t.local.kind])).toEqual([['x', 'sse']]);
  });

  test('--name applies to a single file entry, but not to several', () => {
    const one = parseConfigFile({ gateway: 'https://gw', servers: [{ name: 'file-name', command: 'a' }] });
    expect(resolveConfig({ name: 'cli-name' }, {}, one).tunnels[0].name).toBe('cli-name');
    const two = parseConfigFile({ gateway: 'https://gw', servers: [{ command: 'a' }, { command: 'b' }] });
    expect(() => resolveConfig({ name: 'cli-name' }, {}, two)).toThrow(/apply to one server/);
  });

  test.each<[string, CliValues, Record<string, unknown>, RegExp]>([
    ['no local server', { gateway: 'http://g' }, {}, /No local server/],
    ['two local servers', { gateway: 'http://g', localStdio: 'a', localSse: 'http://h/sse' }, {}, /exactly one/],
    ['no gateway', STDIO, {}, /No gateway/],
    [
      'a gateway URL without a scheme',
      { ...STDIO, gateway: 'localhost:3000' },
      {},
      /"localhost:3000" has no scheme: use http:\/\/localhost:3000/,
    ],
    [
      'a gateway host without a scheme',
      { ...STDIO, gateway: 'gw.example.com/prefix' },
      {},
      /has no scheme: use http:\/\/gw\.example\.com\/prefix/,
    ],
    ['a bad gateway scheme', { ...STDIO, gateway: 'ftp://gw.example.com' }, {}, /http:\/\/, https:\/\/, ws:\/\/ or wss:\/\//],
    ['both --token and --token-file', { ...STDIO, gateway: 'http://g', token: 't', tokenFile: '/x' }, {}, /either --token or --token-file/],
    ['an invalid name', { ...STDIO, gateway: 'http://g', name: 'has/slash' }, {}, /Invalid server name/],
    ['a negative delay', { ...STDIO, gateway: 'http://g', reconnectDelay: '-1' }, {}, /non-negative/],
    ['a fractional retry count', { ...STDIO, gateway: 'http://g', maxRetries: '1.5' }, {}, /whole number/],
    ['a zero keepalive', { ...STDIO, gateway: 'http://g', keepalive: '0' }, {}, /positive/],
    ['a bad log level', { ...STDIO, gateway: 'http://g', logLevel: 'loud' }, {}, /Log level/],
    ['a non-http local URL', { gateway: 'http://g', localStreamableHttp: 'ws://h' }, {}, /http\(s\) URL/],
    ['an unterminated quote', { gateway: 'http://g', localStdio: 'node "x' }, {}, /Unterminated/],
    [
      'duplicate names',
      {},
      {
        gateway: 'http://g',
        servers: [
          { name: 'a', command: 'x' },
          { name: 'a', command: 'y' },
        ],
      },
      /Two servers/,
    ],
    ['an entry without a server', {}, { gateway: 'http://g', servers: [{ name: 'a' }] }, /names no local server/],
  ])('refuses %s', (_what, cli, rawFile, message) => {
    expect(() => resolveConfig(cli, {}, parseConfigFile(rawFile))).toThrow(ConfigError);
    expect(() => resolveConfig(cli, {}, parseConfigFile(rawFile))).toThrow(message);
  });

  test('unknown keys in the file are refused, so a typo is not silently ignored', () => {
    expect(() => parseConfigFile({ gatway: 'x' })).toThrow(/Unknown setting "gatway"/);
    expect(() => resolveConfig({}, {}, parseConfigFile({ gateway: 'http://g', servers: [{ comand: 'x' }] }))).toThrow(
      /Unknown setting "comand" in servers\[0\]/,
    );
  });
});

describe('readConfigFile', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'mcp-tunnel-config-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('reads YAML and JSON', () => {
    writeFileSync(join(dir, 'c.yaml'), 'gateway: https://gw\nservers:\n  - name: a\n    command: node a.js\n');
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ gateway: 'https://gw', 'local-stdio': 'node b.js' }));
    expect(resolveConfig({}, {}, readConfigFile(join(dir, 'c.yaml'))).tunnels[0].local).toEqual({
      kind: 'stdio',
      command: 'node',
      args: ['a.js'],
    });
    expect(resolveConfig({}, {}, readConfigFile(join(dir, 'c.json'))).tunnels[0].local).toEqual({
      kind: 'stdio',
      command: 'node',
      args: ['b.js'],
    });
  });

  test('names the file and the problem', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'gateway: [unclosed\n');
    expect(() => readConfigFile(join(dir, 'bad.yaml'))).toThrow(/bad\.yaml is not valid YAML/);
    expect(() => readConfigFile(join(dir, 'missing.yaml'))).toThrow(/Cannot read the config file/);
  });
});

describe('the token: never needed on the command line', () => {
  const base = { ...STDIO, gateway: 'http://g' };
  const files: Record<string, string> = { '/cli-file': 'from-cli-file', '/file-file': 'from-file-file' };
  const read = (path: string) =>
    files[path] ??
    (() => {
      throw new ConfigError(`Cannot read the token file ${path}`);
    })();
  const token = (cli: CliValues, env: NodeJS.ProcessEnv, file = {}) =>
    resolveConfig({ ...base, ...cli }, env, parseConfigFile(file), read).tunnels[0].token;

  test("--token > --token-file > MCP_TUNNEL_TOKEN > REVERSE_PROXY_TOKEN > the file's token or tokenFile", () => {
    const env = { MCP_TUNNEL_TOKEN: 'from-env', REVERSE_PROXY_TOKEN: 'from-legacy-env' };
    expect(token({ token: 'from-flag' }, env, { token: 'x' })).toBe('from-flag');
    expect(token({ tokenFile: '/cli-file' }, env, { token: 'x' })).toBe('from-cli-file');
    expect(token({}, env, { token: 'x' })).toBe('from-env');
    expect(token({}, { REVERSE_PROXY_TOKEN: 'from-legacy-env' }, { token: 'x' })).toBe('from-legacy-env');
    expect(token({}, {}, { token: 'from-file' })).toBe('from-file');
    expect(token({}, {}, { 'token-file': '/file-file' })).toBe('from-file-file');
    expect(token({}, {})).toBeUndefined();
    expect(() => token({}, {}, { token: 'a', tokenFile: '/file-file' })).toThrow(/both "token" and "tokenFile"/);
  });

  describe('readTokenFile', () => {
    let dir: string;
    beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'mcp-tunnel-token-'))));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('the content, trimmed; empty, oversized and missing files are refused', () => {
      const write = (name: string, content: string) => {
        writeFileSync(join(dir, name), content);
        return join(dir, name);
      };
      expect(readTokenFile(write('ok', '  eyJ.abc.def\n'))).toBe('eyJ.abc.def');
      expect(() => readTokenFile(write('empty', ' \n'))).toThrow(/is empty/);
      expect(() => readTokenFile(write('big', 'x'.repeat(TOKEN_FILE_MAX_BYTES + 1)))).toThrow(
        new RegExp(`larger than ${TOKEN_FILE_MAX_BYTES} bytes`),
      );
      expect(readTokenFile(write('max', 'x'.repeat(TOKEN_FILE_MAX_BYTES)))).toHaveLength(TOKEN_FILE_MAX_BYTES);
      expect(() => readTokenFile(join(dir, 'missing'))).toThrow(/Cannot read the token file .*missing: ENOENT/);
    });
  });
});

test('--retry-forever (or retryForever: true in the file) is off by default', () => {
  const base = { ...STDIO, gateway: 'http://g' };
  expect(resolveConfig(base, {}).tunnels[0].retryForever).toBe(false);
  expect(resolveConfig({ ...base, retryForever: true }, {}).tunnels[0].retryForever).toBe(true);
  expect(resolveConfig(base, {}, parseConfigFile({ 'retry-forever': true })).tunnels[0].retryForever).toBe(true);
  expect(() => resolveConfig(base, {}, parseConfigFile({ retryForever: 'yes' }))).toThrow(/must be true or false/);
});
