import { AsyncLocalStorage } from 'node:async_hooks';

interface CorrelationScope {
  correlationId: string | undefined;
}

const scope = new AsyncLocalStorage<CorrelationScope>();

/**
 * The correlation id of the work in progress: the request id on the gateway, then the upload session id
 * on every storage event, job and domain event of that upload. Every log line carries it (see
 * loggingModule), and the outbox copies it onto the messages it publishes.
 */
export const Correlation = Object.freeze({
  /** Runs `work` with `correlationId` as the current id (a new scope: nothing leaks to the caller). */
  run<T>(correlationId: string | undefined, work: () => T): T {
    return scope.run({ correlationId }, work);
  },
  /** Names the current work once it is known (a storage event learns its session from the object key). */
  set(correlationId: string): void {
    const current = scope.getStore();
    if (current) current.correlationId = correlationId;
  },
  current(): string | undefined {
    return scope.getStore()?.correlationId;
  },
});
