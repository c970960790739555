/**
 * `npm run dead-letters -- list [--subscriber <name>]`
 * `npm run dead-letters -- redrive <seq> [<seq>...] | --all [--subscriber <name>]`
 * Lists the events subscribers gave up on, or sends them back to be applied again.
 */
import { loadConfig } from '../config';
import { connectMessaging, Topology } from '../messaging/nats';
import { initOrm } from '../persistence/orm';
import { runMain } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';
import { listDeadLetters, redriveDeadLetters } from '../subscribers/dead-letters';

const config = loadConfig();
const logger = createLogger('dead-letters', config.LOG_LEVEL);
const USAGE = 'usage: dead-letters list [--subscriber <name>] | dead-letters redrive (<seq>... | --all) [--subscriber <name>]';

runMain(logger, async () => {
  const [command, ...rest] = process.argv.slice(2);
  const flag = (name: string) => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const subscriber = flag('subscriber');
  const messaging = await connectMessaging(config.NATS_URL, 'order-service-dead-letters');
  const topology = new Topology(config.EVENTS_PREFIX);
  try {
    if (command === 'list') {
      const letters = await listDeadLetters(messaging, topology, subscriber);
      for (const l of letters) {
        process.stdout.write(`${JSON.stringify({ seq: l.seq, subscriber: l.subscriber, eventType: l.eventType, eventId: l.eventId, deliveryCount: l.deliveryCount, failedAt: l.failedAt, error: l.error.split('\n')[0] })}\n`);
      }
      process.stderr.write(`${letters.length} dead letter(s)\n`);
    } else if (command === 'redrive') {
      const seqs = rest.filter((a, i) => /^\d+$/.test(a) && rest[i - 1] !== '--subscriber').map(Number);
      if (seqs.length === 0 && !rest.includes('--all')) throw new Error(USAGE);
      const orm = await initOrm(config.DATABASE_URL);
      try {
        const n = await redriveDeadLetters(messaging, topology, orm, { seqs: seqs.length ? seqs : undefined, subscriber });
        process.stderr.write(`redrove ${n} dead letter(s)\n`);
      } finally {
        await orm.close();
      }
    } else {
      throw new Error(USAGE);
    }
  } finally {
    await messaging.nc.close();
  }
});
