// durable-functions ships no types for its deep testing helpers; declare the few members the unit tests use.
declare module "durable-functions/lib/src/util/testingUtils" {
  export class DummyOrchestrationContext {
    constructor(functionName?: string);
  }
  export class DurableOrchestrationInput {
    constructor(
      instanceId?: string,
      history?: unknown[],
      input?: unknown,
      longRunningTimerIntervalDuration?: string,
      maximumShortTimerDuration?: string,
      defaultHttpAsyncRequestSleepTimeMillseconds?: number,
      schemaVersion?: number,
    );
  }
  export function createOrchestrator(
    fn: (context: any) => Generator<unknown, unknown, any>,
  ): (input: DurableOrchestrationInput, context: DummyOrchestrationContext) => Promise<{ output: unknown }>;
}

declare module "durable-functions/lib/src/error/AggregatedError" {
  export class AggregatedError extends Error {
    constructor(errors: Error[]);
    errors: Error[];
  }
}
