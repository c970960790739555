/**
 * GET /events?accountId=&types=: the account's events as Server-Sent Events, live
 * from JetStream.
 *
 * One ordered consumer per stream the requested types live in, filtered to the
 * account's subjects. Each SSE `id` is a cursor of the last stream sequence sent per
 * stream ("orders:12,funds:7,trades:3,accounts:1"), so a client that reconnects with
 * `Last-Event-ID` resumes exactly after what it received: nothing lost, nothing twice.
 * Without it the stream starts with new events (`from=start` replays from the start).
 * Streams are capped per key, a client that does not keep up is disconnected with a
 * final `event: disconnect`, and shutdown ends them all (live-streams.ts).
 */
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import { DeliverPolicy, type ConsumerMessages, type OrderedConsumerOptions } from '@nats-io/jetstream';
import { z } from 'zod';
import { CATALOGUE, EVENT_TYPES, type EventType } from '../../events/catalogue';
import { STREAM_OF_AGGREGATE, STREAMS } from '../../events/streams';
import { accountExists } from '../../persistence/accounts/repository';
import { authenticate } from '../authentication';
import { requireAccess } from '../authorization';
import type { ApiDeps, AppContext, AppState } from '../context';
import { Problem } from '../problem';
import { commaList, uuid } from '../schemas';
import { parse } from '../validate';

const CURSOR_STREAMS = ['orders', 'funds', 'trades', 'accounts'] as const;
type CursorStream = (typeof CURSOR_STREAMS)[number];
type Cursor = Partial<Record<CursorStream, number>>;

const eventsQuery = z.object({
  accountId: uuid.optional(),
  types: commaList(EVENT_TYPES, 'event type'),
  from: z.enum(['start', 'now']).default('now'),
});

export function formatCursor(c: Cursor): string {
  return CURSOR_STREAMS.filter((s) => c[s] !== undefined)
    .map((s) => `${s}:${c[s]}`)
    .join(',');
}

export function parseCursor(id: string): Cursor {
  const cursor: Cursor = {};
  for (const part of id.split(',').filter(Boolean)) {
    // Exactly what formatCursor writes: a known stream, one colon, a sequence JetStream can hold.
    const m = /^([a-z]+):(\d{1,15})$/.exec(part);
    if (!m || !(CURSOR_STREAMS as readonly string[]).includes(m[1]) || cursor[m[1] as CursorStream] !== undefined) {
      throw Problem.field('Last-Event-ID', `"${id}" is not an event id from this stream`);
    }
    cursor[m[1] as CursorStream] = Number(m[2]);
  }
  return cursor;
}

/** The account's subjects in a stream (unprefixed). */
function accountFilter(stream: CursorStream, accountId: string): string {
  switch (stream) {
    case 'orders':
      return `orders.*.${accountId}.*`;
    case 'funds':
      return `funds.*.${accountId}`;
    case 'trades':
      return `trades.*.${accountId}.*`;
    case 'accounts':
      return `accounts.*.${accountId}`;
  }
}

export function eventRoutes(deps: ApiDeps): Router<AppState, AppContext> {
  const router = new Router<AppState, AppContext>();

  router.get('/events', async (ctx) => {
    const principal = await authenticate(ctx, deps.config.OPERATOR_API_KEY);
    const q = parse(eventsQuery, ctx.query);
    const accountId = q.accountId ?? (principal.kind === 'account' ? principal.accountId : undefined);
    if (!accountId) throw Problem.field('accountId', 'is required with the operator key');
    requireAccess(principal, accountId);
    if (!(await accountExists(ctx.state.em, accountId))) throw Problem.notFound(`account ${accountId}`);
    const lastEventId = ctx.get('last-event-id');
    const cursor = lastEventId ? parseCursor(lastEventId) : {};
    const types = q.types ? new Set<string>(q.types) : null;
    const streams = CURSOR_STREAMS.filter((s) => !types || [...types].some((t) => STREAM_OF_AGGREGATE[CATALOGUE[t as EventType].aggregate] === s));

    const out = new PassThrough();
    const consumers: ConsumerMessages[] = [];
    // Takes a slot first: over the cap this is a 429 and nothing was opened.
    const stream = deps.liveStreams.openStream(principal.kind === 'operator' ? 'operator' : `account:${principal.accountId}`, out, () => {
      for (const c of consumers) void c.close().catch(() => undefined);
    });
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    ctx.status = 200;
    ctx.body = out;
    stream.send('retry: 3000\n\n');
    const close = () => stream.close('ended');
    ctx.req.on('close', close);

    const followStreams = async (): Promise<void> => {
      for (const name of streams) {
        const after = cursor[name];
        const opts: Partial<OrderedConsumerOptions> = {
          filter_subjects: deps.topology.subject(accountFilter(name, accountId)),
          ...(after !== undefined
            ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }
            : { deliver_policy: q.from === 'start' ? DeliverPolicy.All : DeliverPolicy.New }),
        };
        const consumer = await deps.messaging.js.consumers.get(deps.topology.stream(STREAMS[name].name), opts);
        if (stream.closed) break;
        const messages = await consumer.consume();
        consumers.push(messages);
        void (async () => {
          for await (const m of messages) {
            if (stream.closed) break;
            const next = { ...cursor, [name]: m.info.streamSequence };
            const event = m.json<{ eventType: string }>();
            if (types && !types.has(event.eventType)) {
              cursor[name] = m.info.streamSequence;
              continue;
            }
            if (!stream.send(`id: ${formatCursor(next)}\nevent: ${event.eventType}\ndata: ${m.string()}\n\n`)) break;
            cursor[name] = m.info.streamSequence;
          }
        })().catch((err: unknown) => {
          ctx.state.logger.warn({ err }, 'event stream consumer ended');
          close();
        });
      }
    };

    try {
      await followStreams();
    } catch (err) {
      close();
      throw err;
    }
  });

  return router;
}
