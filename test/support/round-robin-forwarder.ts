import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/**
 * A TCP ingress in front of gateway replicas: each new connection goes to the next backend port in
 * turn. A backend that refuses the connection (its process is gone) is skipped for the next one, as
 * an ingress with passive health checks does (nginx `proxy_next_upstream error`), so a dead replica
 * costs a client nothing once the connection is refused. Backends can be removed (a replica taken
 * out of rotation before it is stopped) and added back.
 */
export class RoundRobinForwarder {
  private backends: number[];
  private turn = 0;
  private readonly sockets = new Set<Socket>();
  /** Backend port of every upstream connection made, in order (what the tests read to see where a client went). */
  readonly routed: number[] = [];

  private constructor(
    private readonly server: Server,
    backends: number[],
  ) {
    this.backends = [...backends];
  }

  static async start(backends: number[]): Promise<RoundRobinForwarder> {
    const server = createServer();
    const forwarder = new RoundRobinForwarder(server, backends);
    server.on('connection', (client) => forwarder.accept(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return forwarder;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Takes a backend out of rotation; connections already made to it stay. */
  remove(port: number): void {
    this.backends = this.backends.filter((p) => p !== port);
  }

  add(port: number): void {
    if (!this.backends.includes(port)) this.backends.push(port);
  }

  /** Drops every connection made through it, as a network cut would; with no backend left, new ones are dropped too. */
  disconnectAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.track(client);
    client.on('error', () => client.destroy());
    // Bytes the client sends before the upstream is connected wait in the paused socket.
    client.pause();
    this.connectUpstream(client, this.backends.length);
  }

  /** Tries the next backends in turn, at most `tries` of them; the client is dropped when none accepts. */
  private connectUpstream(client: Socket, tries: number): void {
    if (tries <= 0 || this.backends.length === 0 || client.destroyed) {
      client.destroy();
      return;
    }
    const port = this.backends[this.turn++ % this.backends.length];
    const upstream = new Socket();
    this.track(upstream);
    upstream.once('error', () => {
      upstream.destroy();
      this.connectUpstream(client, tries - 1);
    });
    upstream.connect(port, '127.0.0.1', () => {
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      this.routed.push(port);
      upstream.removeAllListeners('error');
      upstream.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      client.resume();
      // Either side going away ends the other: a replica's death reaches the client as a dropped connection.
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
