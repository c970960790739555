/**
 * Limits (api/limits.ts, api/live-streams.ts): requests per key and per IP address
 * (429 problem+json with Retry-After), request body size (413), live event streams
 * per key (429), a client that does not keep up disconnected with a final event
 * naming where to resume, and shutdown not held by open streams.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { LiveStreams } from '../../api/live-streams';
import { startApi, type Api } from '../support/api';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;
const apis: Api[] = [];

async function api(config: Parameters<typeof startApi>[2] = {}): Promise<Api> {
  const a = await startApi(h, undefined, config);
  apis.push(a);
  return a;
}

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h);
});
afterAll(async () => {
  for (const a of apis) await a.close();
  await p?.close();
  await h?.close();
});

function expectTooMany(res: { status: number; headers: Headers; body: any }) {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(res.body).toMatchObject({ status: 429, title: 'Too many requests', retryAfterSeconds: Number(res.headers.get('retry-after')) });
}

/** Sends the request until it is refused; the refusal (fails if 200 tries all pass). */
async function untilRefused(send: () => Promise<{ status: number; headers: Headers; body: any }>) {
  for (let i = 0; i < 200; i++) {
    const res = await send();
    if (res.status === 429) return res;
    expect(res.status).toBe(200);
  }
  throw new Error('never refused');
}

interface Frame {
  id?: string;
  event?: string;
  data?: string;
}

/** Reads an event stream to its end (or until `until` holds, then hangs up). */
async function readStream(a: Api, path: string, key: string, opts: { lastEventId?: string; until?: (f: Frame[]) => boolean; onOpen?: () => void } = {}) {
  const controller = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) };
  const res = await fetch(`${a.url}${path}`, { headers, signal: controller.signal });
  expect(res.status).toBe(200);
  opts.onOpen?.();
  const frames: Frame[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  const timer = setTimeout(() => controller.abort(), 20_000);
  try {
    while (!opts.until?.(frames)) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const f: Frame = {};
        for (const line of block.split('\n')) {
          const [field, ...rest] = line.split(': ');
          if (field === 'id' || field === 'event' || field === 'data') f[field] = rest.join(': ');
        }
        if (f.data) frames.push(f);
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
    throw new Error(`stream ${path} did not end as expected; frames: ${JSON.stringify(frames)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { frames, ended };
}

async function account(a: Api): Promise<{ id: string; apiKey: string }> {
  const res = await a.request('POST', '/accounts', { body: { name: 'limits' } });
  expect(res.status).toBe(201);
  return res.body;
}

describe('request rate', () => {
  it('per key: 429 problem+json with Retry-After; another key is not affected; health probes never limited', async () => {
    const a = await api({ RATE_LIMIT_PER_SECOND: 3, RATE_LIMIT_BURST: 0 });
    const alice = await account(a);
    expectTooMany(await untilRefused(() => a.request('GET', `/accounts/${alice.id}`, { key: alice.apiKey })));
    expect((await a.request('GET', `/accounts/${alice.id}`)).status).toBe(200);
    expect((await a.request('GET', '/healthz', { key: alice.apiKey })).status).not.toBe(429);
  });

  it('without a key, and with refused keys, per IP address', async () => {
    const a = await api({ RATE_LIMIT_PER_SECOND: 3, RATE_LIMIT_BURST: 0 });
    expectTooMany(await untilRefused(() => a.request('GET', '/instruments', { key: null })));
    const b = await api({ RATE_LIMIT_PER_SECOND: 3, RATE_LIMIT_BURST: 0 });
    // Guessing keys: each 401 counts against the address, which is then refused whatever key it sends.
    let refused;
    for (let i = 0; i < 200 && !refused; i++) {
      const res = await b.request('GET', '/orders', { key: `oms_guess_${i}` });
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(401);
    }
    expect(refused).toBeDefined();
    expectTooMany(refused!);
  });

  it('a burst over the rate is allowed up to RATE_LIMIT_BURST', async () => {
    const a = await api({ RATE_LIMIT_PER_SECOND: 1, RATE_LIMIT_BURST: 20 });
    const results = await Promise.all(Array.from({ length: 15 }, () => a.request('GET', '/instruments', { key: null })));
    expect(results.map((r) => r.status)).toEqual(Array(15).fill(200));
  });
});

describe('request bodies', () => {
  it('a body over 64 KiB is a 413 problem+json and creates nothing', async () => {
    const a = await api();
    const res = await a.request('POST', '/accounts', { raw: JSON.stringify({ name: 'x'.repeat(70_000) }) });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const rows = await h.orm.em.fork().execute<{ n: string }[]>("select count(*) as n from accounts where name like 'xxxxxxxx%'");
    expect(rows[0].n).toBe('0');
  });
});

describe('live event streams', () => {
  it('at most MAX_STREAMS_PER_KEY per key (429); a closed one frees its slot', async () => {
    const a = await api({ MAX_STREAMS_PER_KEY: 2 });
    const alice = await account(a);
    const open = (key = alice.apiKey) => {
      const controller = new AbortController();
      return { controller, res: fetch(`${a.url}/events?accountId=${alice.id}`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal }) };
    };
    const first = open();
    const second = open();
    expect((await first.res).status).toBe(200);
    expect((await second.res).status).toBe(200);
    expectTooMany(await a.request('GET', '/events', { key: alice.apiKey }));
    // The operator has slots of its own.
    const op = open('test-operator-key-0123456789');
    expect((await op.res).status).toBe(200);
    first.controller.abort();
    // Its slot is freed when the server sees the hang-up.
    const third = await eventually(
      async () => {
        const attempt = open();
        const res = await attempt.res;
        if (res.status !== 200) await res.text();
        return { attempt, status: res.status };
      },
      (r) => r.status === 200,
    );
    expectTooMany(await a.request('GET', '/events', { key: alice.apiKey }));
    for (const s of [second, third.attempt, op]) s.controller.abort();
  });

  // Over real HTTP a reader only backs up once the kernel's socket buffers (megabytes on
  // loopback) are full, so the bound is shown on the stream itself, with a reader that never reads.
  it('a client that does not keep up is disconnected with a final event naming where to resume; what waits for it stays bounded', () => {
    const streams = new LiveStreams(5, 1_000);
    const out = new PassThrough(); // nobody reads it
    let closed = 0;
    const s = streams.openStream('account:x', out, () => closed++);
    let sent = 0;
    while (s.send(`id: ${sent}\nevent: e\ndata: ${'x'.repeat(90)}\n\n`)) sent++;
    expect(sent).toBeGreaterThan(5);
    expect(s.closed).toBe(true);
    expect(closed).toBe(1);
    expect(out.writableLength + out.readableLength).toBeLessThan(1_000 + 200);
    expect(s.send('id: late\ndata: x\n\n')).toBe(false);
    const text = String(out.read());
    expect(text.endsWith(`event: disconnect\ndata: {"reason":"slow client","lastEventId":"${sent - 1}"}\n\n`)).toBe(true);
    expect(streams.size).toBe(0);
  });

  it('shutdown is not held by open streams: each ends with a final event and the server closes', async () => {
    const a = await api();
    const alice = await account(a);
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const reading = readStream(a, '/events', alice.apiKey, { onOpen: opened });
    await isOpen;
    expect(a.liveStreams.size).toBe(1);
    await a.stop();
    const { frames, ended } = await reading;
    expect(ended).toBe(true);
    expect(frames).toEqual([{ event: 'disconnect', data: JSON.stringify({ reason: 'shutdown', lastEventId: null }) }]);
  });
});
