/**
 * The tunnel client's side of one resumable session (docs/protocol.md, "Resumption"): the token
 * that resumes it, the numbering both ways (a ResumeWindow), and when an `ack` frame is owed (64
 * frames received, or 100 ms without a data frame to carry the acknowledgement). Knows nothing of
 * sockets: the link hands it what arrives and sends what it returns.
 */
import type { RegisterAckFrame, ResumeRequest } from '../protocol/envelopes.js';
import { ResumeWindow, type Arrival } from '../protocol/resume-window.js';

export interface ResumeLimits {
  /** Bytes of sent frames kept for a resend (--resume-buffer); past it the session can no longer resume. */
  maxRetainedBytes: number;
  /** Frames received after which an `ack` frame goes out at once. */
  ackEvery: number;
  /** How long an owed acknowledgement waits for a data frame to carry it before going out alone. */
  ackDelayMs: number;
}

/** The contract's numbers; the buffer is --resume-buffer's default. */
export const RESUME_DEFAULTS: ResumeLimits = { maxRetainedBytes: 8 * 1024 * 1024, ackEvery: 64, ackDelayMs: 100 };

/** Runs `fn` after `ms` and returns what cancels it; injected so tests move time by hand. */
export type Schedule = (fn: () => void, ms: number) => () => void;

/** setTimeout-based Schedule. */
export const timerSchedule: Schedule = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

export interface ResumableSessionDeps {
  /** Sends `{type:'ack', ack}` (while disconnected it may go nowhere: the resume carries the same number). */
  sendAck(ack: number): void;
  schedule?: Schedule;
}

export class ResumableSession {
  private readonly window: ResumeWindow;
  private readonly schedule: Schedule;
  /** Single-use; undefined once spent without a replacement, and then the session cannot resume again. */
  private token: string | undefined;
  private cancelAck: (() => void) | undefined;
  /** The last frame sent without being kept (the buffer was full); 0 when all were kept. */
  private lastUnkept = 0;
  /** The highest of our frames the gateway acknowledged. */
  private peerAcked = 0;

  constructor(
    readonly sessionId: string,
    token: string,
    private readonly limits: ResumeLimits,
    private readonly deps: ResumableSessionDeps,
  ) {
    this.token = token;
    this.window = new ResumeWindow({ maxRetainedBytes: limits.maxRetainedBytes, ackEvery: limits.ackEvery });
    this.schedule = deps.schedule ?? timerSchedule;
  }

  /** Whether a resume could send again everything the gateway may have missed: a token, and no frame it has not acknowledged was let go. */
  get canResume(): boolean {
    return this.token !== undefined && this.lastUnkept <= this.peerAcked;
  }

  /** The last frame received in order from the gateway. */
  get lastReceived(): number {
    return this.window.received;
  }

  /** Frames sent and not yet acknowledged by the gateway, and their bytes. */
  get pending(): { frames: number; bytes: number } {
    return { frames: this.window.pending, bytes: this.window.bytes };
  }

  /** The `resume` of the `register` that carries this session on over a new connection. */
  resumeRequest(): ResumeRequest {
    return { token: this.token ?? '', lastReceived: this.window.received };
  }

  /** Numbers a data frame and returns the text to send; it is kept for a resend while the buffer has room. */
  send(frame: object): string {
    const before = this.window.pending;
    const text = this.window.send(frame);
    if (this.window.pending === before) this.lastUnkept = this.window.lastSent;
    // The frame carries the acknowledgement: nothing owed any more.
    this.stopAckTimer();
    return text;
  }

  /**
   * A data frame from the gateway with its `seq` and `ack`: `deliver` it (once, in order), drop a
   * `duplicate`, or a `gap` (also a frame without `seq`, which a numbered session never sends):
   * frames were lost, the connection must be dropped and the session resumed.
   */
  arrive(seq: number | undefined, ack: number | undefined): Arrival {
    if (ack !== undefined) this.acknowledge(ack);
    if (seq === undefined) return 'gap';
    const arrival = this.window.receive(seq);
    if (arrival === 'deliver') this.oweAck();
    return arrival;
  }

  /** The gateway has our frames up to `ack` (an `ack` frame, or one a data frame carried). */
  acknowledge(ack: number): void {
    this.window.acknowledge(ack);
    if (Number.isSafeInteger(ack) && ack > this.peerAcked && ack <= this.window.lastSent) this.peerAcked = ack;
  }

  /**
   * The gateway took the session back (`register_ack` with `resumed`): takes the new token and
   * returns the texts the gateway missed, in order, to send again; undefined when some are gone
   * (or it did not say what it received): the session cannot go on.
   */
  resumed(ack: Pick<RegisterAckFrame, 'resumeToken' | 'lastReceived'>): string[] | undefined {
    // The old token is spent either way.
    this.token = ack.resumeToken;
    if (ack.lastReceived === undefined) return undefined;
    const missed = this.window.resendAfter(ack.lastReceived);
    if (missed === undefined) return undefined;
    this.acknowledge(ack.lastReceived);
    return missed;
  }

  /** The connection is gone: an `ack` frame has nowhere to go (the resume says the same), so none is scheduled. */
  suspend(): void {
    this.stopAckTimer();
  }

  /** Receiving made an acknowledgement owed: send it now when enough frames came, else soon unless a data frame carries it. */
  private oweAck(): void {
    if (this.window.ackDue) {
      this.stopAckTimer();
      this.deps.sendAck(this.window.acknowledged());
      return;
    }
    if (this.cancelAck) return;
    this.cancelAck = this.schedule(() => {
      this.cancelAck = undefined;
      if (this.window.ackOwed) this.deps.sendAck(this.window.acknowledged());
    }, this.limits.ackDelayMs);
  }

  private stopAckTimer(): void {
    this.cancelAck?.();
    this.cancelAck = undefined;
  }
}
