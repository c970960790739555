/** Structured JSON logs (pino): one logger per process, children per component. */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** A process's logger; to stdout unless given another destination (tests). */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    base: { service: 'order-service', process: name, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Keys never reach a log line, even when an object carrying one is logged whole.
    redact: { paths: ['OPERATOR_API_KEY', '*.OPERATOR_API_KEY', 'apiKey', '*.apiKey', 'secret', '*.secret', 'authorization', '*.authorization', '*.headers.authorization'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
