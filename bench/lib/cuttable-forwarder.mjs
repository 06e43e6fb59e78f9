/**
 * A TCP forwarder in front of the gateway for one tunnel, which the resumption soak cuts like a
 * network would: every connection through it is destroyed abruptly (no WebSocket close frame),
 * then for a while new connections are either refused (accepted and dropped at once) or held
 * (accepted and left waiting, then joined to the gateway when the cut ends).
 */
import net from 'node:net';
import { once } from 'node:events';

export class CuttableForwarder {
  /** Every open socket, client and upstream side. */
  #sockets = new Set();
  /** Clients waiting for a "hold" cut to end. */
  #held = [];
  /** 'refuse' | 'hold' while cut, else undefined. */
  #blocked;
  #server;

  /** @param upstream {port, host} of the gateway */
  constructor(upstream) {
    this.upstream = upstream;
    this.#server = net.createServer((client) => this.#accept(client));
  }

  /** Listens on a free port of 127.0.0.1; resolves with it. */
  async listen() {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return this.port;
  }

  get port() {
    return this.#server.address().port;
  }

  get isCut() {
    return this.#blocked !== undefined;
  }

  /** Drops every connection and blocks new ones in `mode` ('refuse' | 'hold') until restore(). */
  cut(mode) {
    this.#blocked = mode;
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Lets connections through again; held ones go on to the gateway now. */
  restore() {
    this.#blocked = undefined;
    const held = this.#held;
    this.#held = [];
    for (const client of held) if (!client.destroyed) this.#connect(client);
  }

  async close() {
    this.#blocked = 'refuse';
    for (const socket of this.#sockets) socket.destroy();
    for (const client of this.#held) client.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #track(socket) {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  #accept(client) {
    // Bytes sent before the upstream is joined wait in the paused socket.
    client.pause();
    if (this.#blocked === 'refuse') {
      client.destroy();
      return;
    }
    if (this.#blocked === 'hold') {
      // Held sockets are not tracked: the cut that holds them does not drop them.
      client.on('error', () => client.destroy());
      this.#held.push(client);
      return;
    }
    this.#connect(client);
  }

  #connect(client) {
    this.#track(client);
    const upstream = net.connect(this.upstream.port, this.upstream.host ?? '127.0.0.1');
    this.#track(upstream);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    upstream.once('connect', () => {
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
