/** The portfolio subscriber's process. */
import { runSubscriberProcess } from '../process';
import { portfolioSubscriber } from '.';

runSubscriberProcess(portfolioSubscriber);
