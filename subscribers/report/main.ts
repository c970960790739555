/** The report subscriber's process. */
import { runSubscriberProcess } from '../process';
import { reportSubscriber } from '.';

runSubscriberProcess(reportSubscriber);
