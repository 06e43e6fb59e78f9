import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AuthService } from '../../../src/auth/auth.service.js';
import type { Principal } from '../../../src/auth/principal.js';
import { loadConfig } from '../../../src/config/app-config.js';
import { InMemorySessionRegistry } from '../../../src/reverse-proxy/tunnel/in-memory-session-registry.js';
import { TunnelAdmission } from '../../../src/reverse-proxy/tunnel/tunnel-admission.js';

// A verifier that answers on a later turn of the event loop, as a remote one would.
const slowAuth = {
  authenticate: () => new Promise<Principal>((resolve) => setTimeout(() => resolve({ user: 'alice', isAdmin: false, via: 'jwt' }), 5)),
} as unknown as AuthService;

function upgradeRequest(): IncomingMessage & { socket: EventEmitter } {
  return { headers: {}, socket: Object.assign(new EventEmitter(), { remoteAddress: '127.0.0.1' }) } as never;
}

let admission: TunnelAdmission;
beforeEach(() => {
  const config = loadConfig({ JWT_SECRET: 'unit-test-secret-0123456789', MAX_SESSIONS_PER_USER: '2' });
  admission = new TunnelAdmission(slowAuth, new InMemorySessionRegistry(), config);
});

test('a burst of upgrades admitted at once cannot overshoot the per-user limit', async () => {
  const verdicts = await Promise.all([1, 2, 3, 4, 5].map(() => admission.admit(upgradeRequest())));
  expect(verdicts.map((v) => (v.ok ? 'ok' : v.status))).toEqual(['ok', 'ok', 429, 429, 429]);
});

test('a reservation ends when the connection claims it or the upgrade dies', async () => {
  const first = upgradeRequest();
  const second = upgradeRequest();
  expect((await admission.admit(first)).ok).toBe(true);
  expect((await admission.admit(second)).ok).toBe(true);
  expect((await admission.admit(upgradeRequest())).ok).toBe(false);
  // The first became a connection (never added to the registry here), the second's socket closed.
  expect(admission.claim(first)).toEqual({ user: 'alice', isAdmin: false, via: 'jwt' });
  second.socket.emit('close');
  second.socket.emit('close');
  const again = await Promise.all([
    admission.admit(upgradeRequest()),
    admission.admit(upgradeRequest()),
    admission.admit(upgradeRequest()),
  ]);
  expect(again.map((v) => v.ok)).toEqual([true, true, false]);
});

test('an admission is claimed once; a request never admitted has no principal and frees nothing', async () => {
  const first = upgradeRequest();
  expect((await admission.admit(first)).ok).toBe(true);
  expect((await admission.admit(upgradeRequest())).ok).toBe(true);
  expect(admission.claim(upgradeRequest())).toBeUndefined();
  expect((await admission.admit(upgradeRequest())).ok).toBe(false);
  expect(admission.claim(first)).toEqual({ user: 'alice', isAdmin: false, via: 'jwt' });
  expect(admission.claim(first)).toBeUndefined();
  // One slot came back, once: the claim, not the socket closing afterwards.
  first.socket.emit('close');
  const again = await Promise.all([admission.admit(upgradeRequest()), admission.admit(upgradeRequest())]);
  expect(again.map((v) => v.ok)).toEqual([true, false]);
});
