/**
 * Who caused a change: the request that started the chain (correlation), what
 * directly caused this step (causation: a request id, `trade:<id>`, `timer:...`, or
 * the event it accompanies) and the W3C trace id. Every change carries one, and the
 * events it produces wear it in their envelope. Workflow-safe (types only).
 */
export interface EventContext {
  correlationId: string | null;
  causationId: string | null;
  traceId?: string | null;
}
