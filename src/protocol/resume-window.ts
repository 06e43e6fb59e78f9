/** Limits of a resume window. */
export interface ResumeWindowLimits {
  /** Bytes (characters of JSON) of sent frames kept until the peer acknowledges them; past this the session can no longer resume. */
  maxRetainedBytes: number;
  /** Received frames after which an acknowledgement is due even while nothing else is sent. */
  ackEvery: number;
}

/** What became of a numbered frame that arrived. */
export type Arrival = 'deliver' | 'duplicate' | 'gap';

interface Retained {
  seq: number;
  text: string;
}

/**
 * One side's bookkeeping of a resumable tunnel (docs/protocol.md, "Resumption"): numbers the data
 * frames it sends (`seq`, consecutive from 1) and keeps them until the peer acknowledges them, so they
 * can be sent again after a reconnect; takes each frame it receives once, in order, and says what it
 * has received (`ack`) so the peer can let go of its own. Used alike by the gateway's tunnel session
 * and the tunnel client. Frames are kept as the text that was sent, bounded in bytes.
 */
export class ResumeWindow {
  private sent = 0;
  private receivedUpTo = 0;
  private acknowledgedUpTo = 0;
  /** Received frames not yet acknowledged to the peer. */
  private unacknowledged = 0;
  private readonly retained: Retained[] = [];
  private retainedBytes = 0;

  constructor(private readonly limits: ResumeWindowLimits) {}

  /** The last frame received in order: what this side acknowledges. */
  get received(): number {
    return this.receivedUpTo;
  }

  /** The last frame this side sent. */
  get lastSent(): number {
    return this.sent;
  }

  /** Bytes of sent frames waiting for the peer's acknowledgement. */
  get bytes(): number {
    return this.retainedBytes;
  }

  /** Frames sent and not yet acknowledged. */
  get pending(): number {
    return this.retained.length;
  }

  /** Whether more is kept than the limit allows: the session can no longer be resumed (what was sent may be lost). */
  get overflowed(): boolean {
    return this.retainedBytes > this.limits.maxRetainedBytes;
  }

  /** Whether an acknowledgement should go out now (enough frames received since the last one). */
  get ackDue(): boolean {
    return this.unacknowledged >= this.limits.ackEvery;
  }

  /** Whether anything received is not acknowledged yet (an idle side sends an `ack` frame for it). */
  get ackOwed(): boolean {
    return this.unacknowledged > 0;
  }

  /**
   * Numbers a data frame and returns its text, carrying `seq` and this side's `ack`; the text is kept
   * until the peer acknowledges it.
   */
  send(frame: object): string {
    const seq = ++this.sent;
    const text = JSON.stringify({ ...frame, seq, ack: this.receivedUpTo });
    this.unacknowledged = 0;
    if (!this.overflowed) {
      this.retained.push({ seq, text });
      this.retainedBytes += text.length;
    }
    return text;
  }

  /** The peer has everything up to `ack`: those frames are let go. Acks that go backwards or past what was sent change nothing. */
  acknowledge(ack: number): void {
    if (!Number.isSafeInteger(ack) || ack <= this.acknowledgedUpTo || ack > this.sent) return;
    this.acknowledgedUpTo = ack;
    let drop = 0;
    while (drop < this.retained.length && this.retained[drop].seq <= ack) {
      this.retainedBytes -= this.retained[drop].text.length;
      drop++;
    }
    this.retained.splice(0, drop);
  }

  /** An `ack` is going out on its own frame: nothing is owed until more arrives. */
  acknowledged(): number {
    this.unacknowledged = 0;
    return this.receivedUpTo;
  }

  /** Takes a numbered frame that arrived: `deliver` the next one in order, drop a `duplicate`, refuse a `gap`. */
  receive(seq: number): Arrival {
    if (!Number.isSafeInteger(seq) || seq <= this.receivedUpTo) return 'duplicate';
    if (seq !== this.receivedUpTo + 1) return 'gap';
    this.receivedUpTo = seq;
    this.unacknowledged++;
    return 'deliver';
  }

  /**
   * After a reconnect: the peer says it received everything up to `peerReceived`; returns the texts
   * of the frames it missed, in order, to send again. Undefined when they cannot all be sent (more
   * was sent than kept, or the peer claims frames never sent): the session cannot be resumed.
   */
  resendAfter(peerReceived: number): string[] | undefined {
    if (!Number.isSafeInteger(peerReceived) || peerReceived < 0 || peerReceived > this.sent) return undefined;
    if (peerReceived < this.acknowledgedUpTo) return undefined;
    this.acknowledge(peerReceived);
    const missed = this.retained.map((r) => r.text);
    // Every frame after the peer's last must still be here, else something would be lost.
    if (missed.length !== this.sent - peerReceived) return undefined;
    return missed;
  }
}
