/**
 * Webhooks cannot reach inside the deployment (subscribers/notification/targets.ts).
 *
 * Registration: with WEBHOOK_ALLOW_PRIVATE off, the API refuses every loopback,
 * private, link-local, CGNAT, multicast, IPv6 ULA/link-local, IPv4-mapped and
 * internal-name URL with a 400 naming `url`, and registers nothing. Nothing is
 * resolved or connected to.
 *
 * Send time: a webhook whose URL slipped past registration (a name that resolves to
 * a private address now: DNS rebinding; here inserted directly) is refused against the
 * address actually resolved, before any connection: the receiver on 127.0.0.1 counts
 * its connections and sees none, the notification is FAILED after one attempt, and
 * the API shows only the class `target refused`. The same receiver with private
 * targets allowed gets the delivery (the control: the refusal is what stopped it).
 *
 * Each webhook's circuit breaker is shown here too: after its threshold of failures
 * no attempt is made (or counted) while it is open.
 *
 * The send-time part runs on a database of its own, so no other test file's delivery
 * service (which allows private targets) claims its notifications.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAccount } from '../../activities/accounts';
import type { EventEnvelope } from '../../events/catalogue';
import { connectDatabase, dropDatabase, type Orm } from '../../persistence/orm';
import { createLogger } from '../../runtime/logger';
import { createWebhook, listNotifications, listWebhooks, recordNotifications } from '../../subscribers/notification/store';
import { WebhookDelivery, type WebhookDeliveryOptions } from '../../subscribers/notification/webhook-delivery';
import { refusedWebhookHost } from '../../subscribers/notification/targets';
import { startApi, type Api } from '../support/api';
import { startHarness, type Harness } from '../support/harness';
import { eventually } from '../support/pipeline';

const REFUSED = [
  'http://127.0.0.1:5432/',
  'http://127.1.2.3/x',
  'http://10.0.0.5:5432/',
  'http://172.16.0.1/',
  'http://192.168.1.1/',
  'http://169.254.169.254/latest/meta-data/',
  'http://100.64.0.1/',
  'http://224.0.0.1/',
  'http://0.0.0.0:3000/',
  'http://2130706433/',
  'http://[::1]:8233/',
  'http://[fd00::1]/',
  'http://[fe80::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:10.0.0.1]/',
  'http://localhost:8233/',
  'http://LOCALHOST./',
  'http://api.localhost/',
  'http://temporal:7233/',
  'http://postgres/',
  'http://metadata.google.internal/',
  'http://printer.local/',
];

let h: Harness;
let api: Api;

beforeAll(async () => {
  h = await startHarness();
  api = await startApi(h, undefined, { WEBHOOK_ALLOW_PRIVATE: false });
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

describe('webhook targets', () => {
  it('registration refuses every non-public target with 400 naming url, and registers nothing', async () => {
    const account = (await api.request('POST', '/accounts', { body: { name: 'ssrf' } })).body;
    for (const url of REFUSED) {
      const res = await api.request('POST', `/accounts/${account.id}/webhooks`, { key: account.apiKey, body: { url } });
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['url']);
    }
    expect(await listWebhooks(h.orm.em.fork(), account.id)).toEqual([]);
  });

  it('public addresses and names pass the registration check (nothing is resolved or connected to)', () => {
    for (const url of ['https://hooks.example.com/x', 'http://93.184.215.14/', 'https://[2606:4700::1111]/']) {
      expect(refusedWebhookHost(new URL(url), false)).toBeNull();
    }
    for (const url of REFUSED) expect(refusedWebhookHost(new URL(url), true)).toBeNull();
  });

  describe('at send time', () => {
    let orm: Orm;
    let databaseUrl: string;
    let receiver: Server;
    let connections = 0;
    let failHits = 0;
    let port = 0;

    beforeAll(async () => {
      const url = new URL(h.config.DATABASE_URL);
      url.pathname = `${url.pathname}_targets`;
      databaseUrl = url.toString();
      orm = await connectDatabase(databaseUrl);
      receiver = createServer((req, res) => void req.resume().on('end', () => res.writeHead(req.url === '/fail' ? 500 : 200).end()));
      receiver.on('connection', () => connections++);
      receiver.on('request', (req) => req.url === '/fail' && failHits++);
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      port = (receiver.address() as AddressInfo).port;
    });
    afterAll(async () => {
      receiver?.closeAllConnections();
      await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
      await orm?.close();
      if (databaseUrl) await dropDatabase(databaseUrl);
    });

    /** An account with one webhook to `url` and one notification queued for it. */
    async function queued(url: string): Promise<string> {
      const { id } = await createAccount(orm.em.fork(), 'targets', { correlationId: randomUUID(), causationId: null });
      await createWebhook(orm.em.fork(), id, url, []);
      const at = new Date(Date.now() + 1_000).toISOString();
      const order = {
        orderId: randomUUID(), clientOrderId: 'c-1', accountId: id, symbol: 'BTC-USD', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '10',
        timeInForce: 'GTC', expireAt: null, status: 'CANCELLED', filledQuantity: '0', leavesQuantity: '0', averageFillPrice: null, notional: '0',
        fees: '0', feeAsset: null, lockedAsset: null, lockedAmount: '0', fills: [], rejectReason: null, cancelReason: 'test', createdAt: at, updatedAt: at, version: 3,
      };
      const event = {
        eventId: randomUUID(), eventType: 'order.cancelled', eventVersion: 1, timestamp: at, source: 'test', correlationId: 'c', causationId: null,
        aggregateType: 'order', aggregateId: order.orderId, sequence: 3, data: { order, reason: 'test' },
      } as unknown as EventEnvelope;
      expect(await orm.em.fork().transactional((em) => recordNotifications(em, event, createLogger('test', 'silent')))).toBe(1);
      return id;
    }

    const delivery = (allowPrivateTargets: boolean, more: Partial<WebhookDeliveryOptions> = {}) =>
      new WebhookDelivery(orm, createLogger('test', 'silent'), { allowPrivateTargets, maxAttempts: 3, backoffBaseMs: 50, timeoutMs: 2_000, ...more });

    it('refuses a private address it resolved or was given, before connecting; the API shows the class only', async () => {
      const byIp = await queued(`http://127.0.0.1:${port}/hook`);
      const byName = await queued(`http://localhost:${port}/hook`);
      await delivery(false).drain();
      for (const accountId of [byIp, byName]) {
        const rows = (await listNotifications(orm.em.fork(), accountId, { limit: 10 })).filter((n) => n.channel === 'webhook');
        expect(rows).toEqual([expect.objectContaining({ status: 'FAILED', attempts: 1, lastResult: 'target refused', deliveredAt: null })]);
        expect(JSON.stringify(rows)).not.toMatch(/127\.0\.0\.1|ECONN|lookup/);
      }
      expect(connections).toBe(0);
    });

    it('the same receiver gets the delivery when private targets are allowed (the control)', async () => {
      const accountId = await queued(`http://127.0.0.1:${port}/hook`);
      await delivery(true).drain();
      const rows = (await listNotifications(orm.em.fork(), accountId, { limit: 10 })).filter((n) => n.channel === 'webhook');
      expect(rows).toEqual([expect.objectContaining({ status: 'DELIVERED', attempts: 1, lastResult: 'HTTP 2xx' })]);
      expect(connections).toBe(1);
    });

    it("a webhook's circuit breaker opens after its threshold: no attempt is made or counted while it is open", async () => {
      const accountId = await queued(`http://127.0.0.1:${port}/fail`);
      const d = delivery(true, { maxAttempts: 10, backoffBaseMs: 1, breaker: { failureThreshold: 2, halfOpenAfterMs: 600_000 } });
      const row = async () => (await listNotifications(orm.em.fork(), accountId, { limit: 10 })).filter((n) => n.channel === 'webhook')[0];
      // Each round claims what is due; the retries are due within milliseconds.
      const seen = await eventually(
        async () => {
          await d.drain();
          return row();
        },
        (n) => n.lastResult === 'circuit open',
      );
      expect(failHits).toBe(2);
      expect(seen).toMatchObject({ status: 'PENDING', attempts: 2, lastResult: 'circuit open' });
      expect(d.breakers.snapshot()).toEqual([expect.objectContaining({ state: 'open' })]);
      // Due again only when the breaker lets a probe through: nothing more reaches the receiver.
      await d.drain();
      expect(failHits).toBe(2);
    });
  });
});

