/**
 * TLS to the gateway: a certificate from a private CA is refused unless --ca names that CA, and
 * checks are only ever switched off by an explicit --insecure, which warns.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, FIXTURE_COMMAND, killAll } from './helpers/cli-process.js';
import { MockGateway } from './helpers/mock-gateway.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Generating a certificate needs the openssl command; without it there is nothing to test with.
const describeTls = hasOpenssl() ? describe : describe.skip;

describeTls('TLS', () => {
  let dir: string;
  let certFile: string;
  let gw: MockGateway;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-tunnel-tls-'));
    certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    gw = await MockGateway.start({ tls: { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') } });
  });
  afterEach(() => killAll());
  afterAll(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (extra: string[]) =>
    new CliProcess(['--local-stdio', FIXTURE_COMMAND, '--gateway', gw.url, '--token', 't', '--reconnect-delay', '0.01', ...extra]);

  test('an untrusted certificate is refused on the first connection, with a hint about --ca', async () => {
    const run = cli([]);
    expect((await run.waitForExit()).code).toBe(1);
    expect(run.stderr).toMatch(
      /\(DEPTH_ZERO_SELF_SIGNED_CERT\): the gateway's certificate is not trusted; if it comes from your own CA, pass --ca <file>/,
    );
  });

  test('--ca trusts it', async () => {
    const run = cli(['--ca', certFile]);
    const conn = await gw.nextConnection();
    expect((await conn.next('register')).server.name).toBe('fixture-server');
    await run.waitForLog(/registered as/);
    expect(run.stderr).not.toMatch(/insecure/i);
  });

  test('--insecure connects without checking, and says so', async () => {
    const run = cli(['--insecure']);
    const conn = await gw.nextConnection();
    await conn.next('register');
    expect(run.stderr).toMatch(/WARN --insecure: the gateway's TLS certificate is NOT checked/);
  });

  test('a CA file that cannot be read is a usage error', async () => {
    const run = cli(['--ca', join(dir, 'missing.pem')]);
    expect((await run.waitForExit()).code).toBe(2);
    expect(run.stderr).toMatch(/missing\.pem/);
  });
});
