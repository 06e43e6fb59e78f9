/** What a user is told, in one line, when the gateway cannot listen: the cause and the setting to change. */
const LISTEN_FAILURES: Record<string, (host: string, port: number) => string> = {
  EADDRINUSE: (host, port) => `Port ${port} on ${host} is already in use: stop what holds it, or set PORT to another port.`,
  EACCES: (host, port) => `No permission to listen on ${host}:${port} (ports below 1024 need privileges): set PORT to 1024 or above.`,
  EADDRNOTAVAIL: (host) => `HOST ${host} is not an address of this machine: set HOST to one of its addresses, 0.0.0.0 (all) or 127.0.0.1.`,
  ENOTFOUND: (host) => `HOST ${host} does not resolve to an address: set HOST to an IP address such as 0.0.0.0 or 127.0.0.1.`,
};

/** The one-line message for an error of `listen()` (no stack: the cause is the user's setting, not the code). */
export function listenErrorMessage(err: unknown, host: string, port: number): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  const known = typeof code === 'string' && Object.hasOwn(LISTEN_FAILURES, code) ? LISTEN_FAILURES[code] : undefined;
  if (known) return `Cannot start the gateway: ${known(host, port)}`;
  const reason = err instanceof Error ? err.message : String(err);
  return `Cannot start the gateway: listening on ${host}:${port} failed (${reason.split('\n')[0]}).`;
}

/** Whether an error comes from `listen()` (a Node system error with a `listen` syscall or a listen code), not from the code. */
export function isListenError(err: unknown): boolean {
  const { code, syscall } = (err ?? {}) as { code?: unknown; syscall?: unknown };
  return syscall === 'listen' || (typeof code === 'string' && Object.hasOwn(LISTEN_FAILURES, code));
}
