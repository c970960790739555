/** Connections to the Temporal server, from configuration. */
import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../config';

export async function connectTemporalClient(config: Pick<AppConfig, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}
