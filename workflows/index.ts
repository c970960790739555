/** Every workflow the worker runs (the SDK bundler's entry point). Workflow-safe only. */
export { orderWorkflow } from './order/workflow';
