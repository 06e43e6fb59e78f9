import type { CarriedTunnelProtocol } from '../tunnel/session-registry.js';
import type { TunnelConnection } from '../tunnel/tunnel-connection.js';
import type { TunnelSession, TunnelSocket } from '../tunnel/tunnel-session.js';
import type { ClusterBus } from './cluster-bus.js';
import type { RelayMessage } from './relay-envelope.js';

/** A connection this replica carries to the replica holding its session. */
interface Carried {
  replica: string;
  connection: TunnelConnection;
}

/** A connection another replica carries here: the session side of it. */
interface Served {
  connection: TunnelConnection;
  socket: TunnelSocket;
}

/**
 * Tunnel connections carried between replicas (cluster mode). A resume (docs/protocol.md) names the
 * replica that issued its token; when it arrives on another one (the ingress picks any), that replica
 * carries the connection over Redis to the session's replica: the client's frames go there, which
 * handles them with its own protocol service as if the connection were its own, and what the session
 * sends comes back to the client. A refused resume hands the connection back, so the client can
 * register afresh where it is.
 */
export class TunnelLinks {
  private seq = 0;
  private readonly carried = new Map<number, Carried>();
  private readonly served = new Map<string, Served>();
  private protocol: CarriedTunnelProtocol | undefined;

  constructor(
    private readonly bus: ClusterBus,
    /** Whether `replica` is alive (its lease is held). */
    private readonly isLive: (replica: string) => boolean,
  ) {}

  /** Connections carried to other replicas, and carried here. */
  get size(): { carried: number; served: number } {
    return { carried: this.carried.size, served: this.served.size };
  }

  /** The protocol service of this replica, which handles the frames of carried connections on both sides. */
  serveWith(protocol: CarriedTunnelProtocol): void {
    this.protocol = protocol;
  }

  /** Carries `connection` (whose first frame, the resume, is `text`) to `replica`; false when it cannot be reached. */
  carry(connection: TunnelConnection, replica: string, text: string): boolean {
    if (!this.protocol || !this.isLive(replica)) return false;
    const link = ++this.seq;
    if (!this.bus.send(replica, { t: 'link-open', link, owner: connection.session.owner, text })) return false;
    this.carried.set(link, { replica, connection });
    connection.divert({
      frame: (frame) => void this.bus.send(replica, { t: 'link-in', link, text: frame }),
      closed: () => {
        if (this.carried.delete(link)) this.bus.send(replica, { t: 'link-gone', link });
      },
    });
    return true;
  }

  /** Takes a message about carried connections; false when it is not one. */
  receive(from: string, message: RelayMessage): boolean {
    switch (message.t) {
      case 'link-open':
        this.open(from, message.link, message.owner, message.text);
        return true;
      case 'link-in': {
        const served = this.served.get(`${from}:${message.link}`);
        if (served) this.protocol?.handleFrame(served.connection, message.text);
        // A frame that followed a refused resume: the connection is the other replica's again.
        else this.bus.send(from, { t: 'link-release', link: message.link, texts: [message.text] });
        return true;
      }
      case 'link-gone':
        this.lost(`${from}:${message.link}`);
        return true;
      case 'link-out': {
        const carried = this.carried.get(message.link);
        if (carried?.replica === from) carried.connection.socket.send(message.data);
        return true;
      }
      case 'link-close': {
        const carried = this.carried.get(message.link);
        if (carried?.replica !== from) return true;
        this.carried.delete(message.link);
        if (message.code === undefined) carried.connection.drop();
        else carried.connection.socket.close(message.code, message.reason);
        return true;
      }
      case 'link-release': {
        const carried = this.carried.get(message.link);
        if (carried?.replica !== from) return true;
        this.carried.delete(message.link);
        carried.connection.divert(undefined);
        for (const text of message.texts) this.protocol?.handleFrame(carried.connection, text);
        return true;
      }
      default:
        return false;
    }
  }

  /** A replica is gone: connections carried to it are dropped (their clients resume again), those it carried here are lost. */
  replicaGone(replica: string): void {
    for (const [link, carried] of [...this.carried]) {
      if (carried.replica !== replica) continue;
      this.carried.delete(link);
      carried.connection.drop();
    }
    for (const key of [...this.served.keys()]) if (key.startsWith(`${replica}:`)) this.lost(key);
  }

  /** Redis is away: every carried connection ends both ways. */
  failAll(): void {
    for (const replica of new Set([...this.carried.values()].map((c) => c.replica))) this.replicaGone(replica);
    for (const key of [...this.served.keys()]) this.lost(key);
  }

  /** The session side: a connection as the gateway would give the protocol service one, writing back over Redis. */
  private open(from: string, link: number, owner: string | null, text: string): void {
    if (!this.protocol) {
      this.bus.send(from, { t: 'link-release', link, texts: [] });
      return;
    }
    const key = `${from}:${link}`;
    const socket: TunnelSocket = {
      send: (data) => void this.bus.send(from, { t: 'link-out', link, data }),
      close: (code, reason) => {
        this.served.delete(key);
        this.bus.send(from, { t: 'link-close', link, code: code ?? 1000, reason });
      },
      terminate: () => {
        this.served.delete(key);
        this.bus.send(from, { t: 'link-close', link });
      },
      bufferedAmount: 0,
    };
    const opened = this.protocol.openSession(owner, socket);
    let current: TunnelSession = opened;
    const connection: TunnelConnection = {
      get session() {
        return current;
      },
      socket,
      adopt: (resumed) => {
        current = resumed;
        opened.handOver();
      },
      drop: () => socket.terminate?.(),
      divert: () => undefined,
    };
    this.served.set(key, { connection, socket });
    this.protocol.handleFrame(connection, text);
    if (current !== opened) return;
    // Refused: the client registers afresh where it is.
    this.served.delete(key);
    opened.handOver();
    this.bus.send(from, { t: 'link-release', link, texts: [] });
  }

  /** The carrying replica's connection ended: the session is suspended (or closed), as for a connection of its own. */
  private lost(key: string): void {
    const served = this.served.get(key);
    if (!served) return;
    this.served.delete(key);
    served.connection.session.connectionEnded(served.socket, 'disconnected');
  }
}
