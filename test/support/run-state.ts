import type { TestWorkflowEnvironment } from '@temporalio/testing';

/** What global setup hands to global teardown (both run in Jest's parent process). */
export interface TestRunState {
  env: TestWorkflowEnvironment;
  databaseUrl: string;
  bundleDir: string;
  eventsPrefix: string;
}

export const TEST_STATE = Symbol.for('order-service.test-run-state');
