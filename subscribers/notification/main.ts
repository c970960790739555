/** The notification subscriber's process. */
import { runSubscriberProcess } from '../process';
import { notificationSubscriber } from '.';

runSubscriberProcess(notificationSubscriber);
