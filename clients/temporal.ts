/** Connections to the Temporal server, from configuration. */
import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../config';
import type { Lifecycle } from '../runtime/lifecycle';

export async function connectTemporalClient(config: Pick<AppConfig, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}

/** A process's Temporal client, closed at shutdown. */
export async function openTemporalClient(config: Pick<AppConfig, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>, lifecycle: Lifecycle): Promise<Client> {
  const client = await connectTemporalClient(config);
  lifecycle.onShutdown('temporal client', () => client.connection.close());
  return client;
}
