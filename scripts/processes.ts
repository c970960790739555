/**
 * Every long-running process of the service, with its entry point (a main.ts each,
 * compiled to dist/). `npm start` starts them in this order and stops them in reverse;
 * the README's process table is checked against this list by a test.
 */
import { SUBSCRIBERS } from '../subscribers/registry';

export interface ProcessSpec {
  name: string;
  /** The entry point, relative to the repository root (TypeScript source). */
  main: string;
  what: string;
}

export const PROCESSES: readonly ProcessSpec[] = [
  { name: 'worker', main: 'workers/order/main.ts', what: 'Temporal worker: the order workflow and its activities' },
  { name: 'venue', main: 'workers/venue/main.ts', what: "the simulated venue's fill dispatcher: fills from ticks to their orders" },
  { name: 'relay', main: 'workers/relay/main.ts', what: 'outbox relay: committed events to JetStream, in order per aggregate' },
  { name: 'maintenance', main: 'workers/maintenance/main.ts', what: 'Temporal worker and Schedule of the retention job (old outbox rows, processed events, venue fills, notifications)' },
  ...Object.values(SUBSCRIBERS).map((def) => ({ name: def.name, main: `subscribers/${def.name}/main.ts`, what: `the ${def.name} subscriber` })),
  { name: 'api', main: 'api/main.ts', what: 'the Koa HTTP API (Update-with-Start, updates, reads, SSE)' },
];

/** The compiled entry point of a process, relative to dist/. */
export function compiledMain(p: ProcessSpec): string {
  return p.main.replace(/\.ts$/, '.js');
}
