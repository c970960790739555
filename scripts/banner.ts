/**
 * What `npm start` prints once everything is starting: where the API and the Web UI
 * are, and how to call as the operator. A key that came from the environment is never
 * printed (only the public development default is).
 */
import { DEVELOPMENT_OPERATOR_KEY, type AppConfig } from '../config';

export function startBanner(config: Pick<AppConfig, 'HOST' | 'PORT' | 'TEMPORAL_UI_PORT' | 'OPERATOR_API_KEY'>): string {
  const host = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;
  const lines = [
    '',
    'order-service is starting:',
    `  API       http://${host}:${config.PORT}   (ready: http://${host}:${config.PORT}/readyz)`,
    `  Web UI    http://127.0.0.1:${config.TEMPORAL_UI_PORT}   (Temporal: orders are workflows "order-<orderId>")`,
    config.OPERATOR_API_KEY === DEVELOPMENT_OPERATOR_KEY
      ? `  Operator  Authorization: Bearer ${config.OPERATOR_API_KEY}   (development default: set OPERATOR_API_KEY)`
      : '  Operator  Authorization: Bearer <OPERATOR_API_KEY>   (the key you set)',
    '  Ctrl-C stops everything.',
    '',
  ];
  return lines.join('\n') + '\n';
}
