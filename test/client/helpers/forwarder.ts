import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/**
 * A TCP forwarder standing in for a stable address (DNS name, load balancer, ingress) in front of a
 * gateway that restarts, or of replicas: `target` says where new connections go, and may change at any time.
 */
export class Forwarder {
  target = 0;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Forwarder> {
    let forwarder!: Forwarder;
    const server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(forwarder.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        forwarder.sockets.add(s);
        s.on('close', () => forwarder.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    forwarder = new Forwarder(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return forwarder;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
