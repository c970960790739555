import { connectMessaging } from '../../messaging/nats';

/** Deletes every stream whose name starts with the run's prefix. */
export async function deleteStreamsWithPrefix(prefix: string): Promise<void> {
  const { nc, jsm } = await connectMessaging(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', 'test-cleanup');
  try {
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}
