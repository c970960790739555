/** The bundler's entry point for the frozen 2026-11-24 order workflow. */
export { orderWorkflow } from './order-workflow-2026-11-24';
