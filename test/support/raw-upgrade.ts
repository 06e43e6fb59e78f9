import { randomBytes } from 'node:crypto';
import { request } from 'node:http';

/** What a WebSocket upgrade was answered with: 101 when it opened (then closed at once), else the refusal. */
export interface UpgradeOutcome {
  /** 101, or the refusal's status. */
  status: number;
  /** The refusal's `WWW-Authenticate`, or null. */
  challenge: string | null;
  /** The refusal's body ('' when it opened). */
  body: string;
}

/** A raw WebSocket upgrade to a `ws://` URL with these headers (no client library between the test and the answer). */
export function rawUpgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const req = request(url.replace(/^ws/, 'http'), {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] ?? null, body }));
      res.on('error', reject);
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve({ status: 101, challenge: null, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}
