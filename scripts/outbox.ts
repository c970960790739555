/**
 * `npm run outbox -- set-aside`
 * `npm run outbox -- retry (<id>... | --all)`
 * Lists the outbox events the relay set aside after OUTBOX_MAX_PUBLISH_ATTEMPTS failed
 * publishes (each holds back its aggregate's later events), or puts them back in the
 * relay's way once the cause is fixed (a stream for the subject, a larger payload
 * limit).
 */
import { loadConfig } from '../config';
import { initOrm } from '../persistence/orm';
import { retrySetAside, setAsideEvents } from '../persistence/outbox/repository';
import { runMain } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';

const config = loadConfig();
const logger = createLogger('outbox', config.LOG_LEVEL);
const USAGE = 'usage: outbox set-aside | outbox retry (<id>... | --all)';

runMain(logger, async () => {
  const [command, ...rest] = process.argv.slice(2);
  const orm = await initOrm(config.DATABASE_URL);
  try {
    if (command === 'set-aside') {
      const rows = await setAsideEvents(orm.em.fork());
      for (const r of rows) process.stdout.write(`${JSON.stringify({ ...r, lastError: r.lastError?.split('\n')[0] ?? null })}\n`);
      process.stderr.write(`${rows.length} event(s) set aside\n`);
    } else if (command === 'retry') {
      const ids = rest.filter((a) => /^\d+$/.test(a));
      if (ids.length === 0 && !rest.includes('--all')) throw new Error(USAGE);
      const n = await retrySetAside(orm.em.fork(), ids.length ? ids : 'all');
      process.stderr.write(`${n} event(s) back to the relay\n`);
    } else {
      throw new Error(USAGE);
    }
  } finally {
    await orm.close();
  }
});
