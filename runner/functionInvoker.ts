import { randomUUID } from 'node:crypto';
import type { CoreShim, RegisteredFunction } from './coreShim.js';
import type { RunnerLogger } from './logger.js';

/** The worker's RpcTypedData subset the runner produces. */
export type TypedData = { json: string } | { string: string } | { http: Record<string, unknown> };

export interface InvokeRequest {
  functionName: string;
  trigger: TypedData;
  reason: string;
  triggerMetadata?: Record<string, TypedData>;
  /** Silence the function's own logs for this invocation (orchestrators while replaying). */
  quietWhen?: (invocationContext: unknown) => boolean;
  /** Ask for the converted HTTP response (`getResponse`) besides the raw result. */
  wantResponse?: boolean;
  /** Skip the Executing/Executed lines (orchestrator replays would flood stderr). */
  quietLifecycle?: boolean;
  /** The orchestration instance this invocation works for (orchestrator episodes, activities). */
  instanceId?: string;
}

/** A function invocation that threw, as `--once` reports it. */
export interface FailedInvocation {
  functionName: string;
  triggerType: string;
  invocationId: string;
  instanceId?: string;
  error: string;
}

export interface InvokeResult {
  ok: boolean;
  result?: unknown;
  error?: unknown;
  context: unknown;
  response?: { returnValue?: unknown; outputData?: Array<{ name: string; data: unknown }> };
  invocationId: string;
}

export interface FunctionInvoker {
  functions: Map<string, RegisteredFunction>;
  triggerType(name: string): string | undefined;
  invoke(req: InvokeRequest): Promise<InvokeResult>;
}

const isTriggerType = (type: string): boolean => type.toLowerCase().endsWith('trigger');

/**
 * Invokes a registered function through @azure/functions' own ProgrammingModel (getInvocationModel →
 * getArguments → invokeFunction → getResponse), the calls the Node worker makes, so every input gets the
 * library's real conversions (timer camelCasing, durable client input in extraInputs, HttpRequest, …).
 */
export function createFunctionInvoker(opts: {
  shim: CoreShim;
  functions: Map<string, RegisteredFunction>;
  logger: RunnerLogger;
  durableClientData: () => Record<string, unknown>;
  /** Told about every invocation that threw (after it was logged). */
  onFailure?: (failure: FailedInvocation) => void;
}): FunctionInvoker {
  const { shim, functions, logger } = opts;
  const triggerType = (name: string): string | undefined => {
    const fn = functions.get(name);
    if (!fn) return undefined;
    return Object.values(fn.metadata.bindings).find((b) => isTriggerType(b.type))?.type;
  };

  return {
    functions,
    triggerType,
    async invoke(req) {
      const fn = functions.get(req.functionName);
      if (!fn) throw new Error(`The function '${req.functionName}' is not registered by the loaded app (known: ${[...functions.keys()].join(', ')}).`);
      const invocationId = randomUUID();
      const bindings = fn.metadata.bindings;
      const triggerName = Object.entries(bindings).find(([, b]) => isTriggerType(b.type))?.[0];
      if (!triggerName) throw new Error(`The function '${req.functionName}' has no trigger binding.`);
      const inputData: Array<{ name: string; data: TypedData }> = [{ name: triggerName, data: req.trigger }];
      for (const [name, b] of Object.entries(bindings)) {
        if ((b.type === 'durableClient' || b.type === 'orchestrationClient') && b.direction !== 'out') {
          inputData.push({ name, data: { json: JSON.stringify(opts.durableClientData()) } });
        }
      }
      let invocationContext: unknown;
      const coreCtx = {
        invocationId,
        metadata: fn.metadata,
        request: { inputData, triggerMetadata: req.triggerMetadata },
        state: undefined as string | undefined,
        log(level: string, category: string, message: string): void {
          if (category === 'user' && invocationContext !== undefined && req.quietWhen?.(invocationContext)) return;
          logger.functionLog(req.functionName, invocationId, level, message);
        },
      };
      const started = Date.now();
      if (!req.quietLifecycle) logger.lifecycle(`Executing 'Functions.${req.functionName}' (Reason='${req.reason}', Id=${invocationId})`);
      const model = shim.getProgrammingModel().getInvocationModel(coreCtx);
      let outcome: InvokeResult;
      try {
        const { context, inputs } = await model.getArguments();
        invocationContext = context;
        const result = await model.invokeFunction(context, inputs, fn.handler);
        const response = req.wantResponse ? ((await model.getResponse(context, result)) as InvokeResult['response']) : undefined;
        outcome = { ok: true, result, context, response, invocationId };
      } catch (error) {
        outcome = { ok: false, error, context: invocationContext, invocationId };
      }
      if (!req.quietLifecycle || !outcome.ok) {
        const status = outcome.ok ? 'Succeeded' : 'Failed';
        logger.lifecycle(`Executed 'Functions.${req.functionName}' (${status}, Id=${invocationId}, Duration=${Date.now() - started}ms)`);
      }
      if (!outcome.ok) {
        const { message, stack } = describeError(outcome.error);
        // The host's own wording, so logs read the same as under Core Tools or in Application Insights.
        logger.lifecycle(`Exception while executing function: Functions.${req.functionName}. Result: Failure\nException: ${message}\nStack: ${stack}`);
        opts.onFailure?.({
          functionName: req.functionName,
          triggerType: triggerType(req.functionName) ?? 'unknown',
          invocationId,
          ...(req.instanceId !== undefined ? { instanceId: req.instanceId } : {}),
          error: message,
        });
      }
      return outcome;
    },
  };
}

/**
 * A thrown value's message and stack. A failing orchestrator throws durable-functions' OrchestrationFailureError,
 * whose message carries the orchestrator state after a `$OutOfProcData$:` marker for the host: only the part
 * before it is for people.
 */
export function describeError(error: unknown): { message: string; stack: string } {
  const strip = (text: string): string => text.replace(/\s*\$OutOfProcData\$:[^\n]*/, '');
  if (error instanceof Error) {
    const message = strip(error.message);
    return { message, stack: strip(error.stack ?? `${error.name}: ${message}`) };
  }
  const text = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  return { message: strip(text), stack: '(a non-Error value was thrown, so there is no stack)' };
}
