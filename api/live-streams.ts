/**
 * The open live event streams (GET /events) of this API process:
 *
 * - at most MAX_STREAMS_PER_KEY open at once per caller (the operator, or an account:
 *   its keys count together); one more is a 429 problem+json;
 * - a client that does not keep up (what is buffered for it passes
 *   STREAM_MAX_BUFFER_BYTES) gets a final `event: disconnect` and is disconnected, so
 *   a slow reader cannot grow the server's memory; it resumes with Last-Event-ID;
 * - on shutdown every stream gets a final `event: disconnect` (reason `shutdown`) and
 *   ends, so open streams do not hold the server's close until its timeout.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Problem } from './problem';

export interface LiveStream {
  /** Sends one SSE frame; false when the stream is over (closed, or just disconnected as too slow). */
  send(frame: string): boolean;
  /** Ends the stream with a final `disconnect` event (idempotent); `ended`: the client left, nothing to say. */
  close(reason: 'slow client' | 'shutdown' | 'ended'): void;
  readonly closed: boolean;
}

/** A comment line every so often keeps proxies from timing an idle stream out. */
const HEARTBEAT_MS = 15_000;

class OpenStream implements LiveStream {
  closed = false;
  private lastId: string | null = null;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly out: Duplex,
    private readonly maxBufferBytes: number,
    private readonly onClose: () => void,
  ) {
    this.heartbeat = setInterval(() => this.send(': keep-alive\n\n'), HEARTBEAT_MS);
  }

  send(frame: string): boolean {
    if (this.closed) return false;
    // What waits for the client: both sides of the pass-through (the socket's own buffer is bounded by the OS).
    if (this.out.writableLength + this.out.readableLength > this.maxBufferBytes) {
      this.close('slow client');
      return false;
    }
    this.out.write(frame);
    this.lastId = /^id: (.*)$/m.exec(frame)?.[1] ?? this.lastId;
    return true;
  }

  close(reason: 'slow client' | 'shutdown' | 'ended'): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    if (reason !== 'ended' && this.out.writable) this.out.write(`event: disconnect\ndata: ${JSON.stringify({ reason, lastEventId: this.lastId })}\n\n`);
    this.out.end();
    this.onClose();
  }
}

export class LiveStreams {
  private readonly perOwner = new Map<string, number>();
  private readonly open = new Set<LiveStream>();

  constructor(
    private readonly maxPerOwner: number,
    private readonly maxBufferBytes: number,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /**
   * Opens a stream for `owner` over `out` (429 when the owner has no slot left);
   * `onClose` runs once when the stream ends for any reason.
   */
  openStream(owner: string, out: Duplex, onClose: () => void): LiveStream {
    const n = this.perOwner.get(owner) ?? 0;
    if (n >= this.maxPerOwner) throw Problem.tooManyRequests(`at most ${this.maxPerOwner} live event streams at once per key; close one first`, 1);
    this.perOwner.set(owner, n + 1);
    const stream: LiveStream = new OpenStream(out, this.maxBufferBytes, () => {
      this.open.delete(stream);
      const left = (this.perOwner.get(owner) ?? 1) - 1;
      if (left <= 0) this.perOwner.delete(owner);
      else this.perOwner.set(owner, left);
      onClose();
    });
    this.open.add(stream);
    return stream;
  }

  /** Ends every open stream (shutdown). */
  closeAll(): void {
    for (const s of [...this.open]) s.close('shutdown');
  }
}

/**
 * Stops an API server: no new connections, in-flight requests finish, and open event
 * streams end at once with a final event instead of holding close() until the
 * shutdown timeout. Resolves when the server has closed.
 */
export async function stopServing(server: Server, liveStreams: LiveStreams): Promise<void> {
  let done = false;
  const closed = new Promise<void>((resolve) => server.close(() => resolve())).finally(() => (done = true));
  liveStreams.closeAll();
  // A connection whose request finished after close() stays open as keep-alive until its
  // timeout: close each as soon as it is idle.
  while (!done) {
    server.closeIdleConnections();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 50))]);
  }
}
