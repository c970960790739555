/**
 * LISTEN on a PostgreSQL channel on a dedicated connection, calling back on every
 * NOTIFY. Writers notify at commit, so a background loop (the outbox relay, the fill
 * dispatcher) wakes at once instead of waiting for its next poll. A lost connection is
 * logged and re-established; the caller keeps polling meanwhile, so nothing is missed.
 */
import { Client as PgClient } from 'pg';
import type { Logger } from '../runtime/logger';

const RECONNECT_MS = 2_000;

export class PgListener {
  private client: PgClient | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly databaseUrl: string,
    private readonly channel: string,
    private readonly onNotify: () => void,
    private readonly logger: Logger,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`channel "${channel}" must be a lower-case identifier`);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new PgClient({ connectionString: this.databaseUrl });
    client.on('notification', () => this.onNotify());
    client.on('error', (err) => {
      this.logger.warn({ err, channel: this.channel }, 'LISTEN connection lost; polling until it is back');
      this.client = null;
      client.end().catch(() => undefined);
      this.reconnectLater();
    });
    try {
      await client.connect();
      await client.query(`listen ${this.channel}`);
      this.client = client;
    } catch (err) {
      this.logger.warn({ err, channel: this.channel }, 'could not LISTEN; polling, and trying again');
      await client.end().catch(() => undefined);
      this.reconnectLater();
    }
  }

  private reconnectLater(): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => void this.connect(), RECONNECT_MS);
    this.retry.unref();
  }
}
