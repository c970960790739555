/**
 * The benchmark's HTTP client: the service's public API only (JSON in and out, bearer
 * keys), over keep-alive connections so the figures are the service's and not the
 * cost of new TCP connections.
 */
import http from 'node:http';
import https from 'node:https';
import { ATTEMPTS, withRetries } from './load';

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

export class ApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${method} ${path} answered ${status}: ${typeof body === 'string' ? body : JSON.stringify(body).slice(0, 300)}`);
    this.name = 'ApiError';
  }
}

export class ApiClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(baseUrl: string, maxSockets = 64) {
    this.base = new URL(baseUrl);
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** One request; any status is returned (the caller decides what is an error). */
  request<T = unknown>(method: string, path: string, key: string | null, body?: unknown): Promise<ApiAnswer<T>> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, agent: this.agent, timeout: 120_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            // Not JSON (a proxy's error page): keep the text for the message.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 120 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The body of a 2xx answer; anything else throws ApiError. */
  async ok<T = unknown>(method: string, path: string, key: string | null, body?: unknown): Promise<ApiAnswer<T>> {
    const answer = await this.request<T>(method, path, key, body);
    if (answer.status < 200 || answer.status >= 300) throw new ApiError(method, path, answer.status, answer.body);
    return answer;
  }

  /**
   * For requests the API makes idempotent (orders by clientOrderId, deposits by
   * reference): a connection error or a 5xx is retried with the same identifiers,
   * as the API's own error answer suggests; a 4xx is final.
   */
  async idempotent<T = unknown>(method: string, path: string, key: string | null, body?: unknown, attempts = ATTEMPTS): Promise<ApiAnswer<T>> {
    return withRetries(() => this.ok<T>(method, path, key, body), (err) => !(err instanceof ApiError) || err.status >= 500, attempts);
  }

  close(): void {
    this.agent.destroy();
  }
}
