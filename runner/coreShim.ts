import Module from 'node:module';

/** The binding metadata @azure/functions hands to `registerFunction` (`toCoreFunctionMetadata`). */
export interface CoreBinding {
  type: string;
  direction?: string;
  [key: string]: unknown;
}

export interface CoreFunctionMetadata {
  name: string;
  bindings: Record<string, CoreBinding>;
  retryOptions?: unknown;
}

export type CoreHandler = (...args: unknown[]) => unknown;

export interface RegisteredFunction {
  metadata: CoreFunctionMetadata;
  handler: CoreHandler;
}

/** The part of @azure/functions' ProgrammingModel the runner drives (the same calls the Node worker makes). */
export interface CoreInvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: CoreHandler): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<{ returnValue?: unknown; outputData?: unknown[] }>;
}

export interface CoreProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: unknown): CoreInvocationModel;
}

export type CoreLogSink = (level: string, category: string, message: string) => void;

/** What the runner keeps of the `@azure/functions-core` API it serves. */
export interface CoreShim {
  readonly functions: Map<string, RegisteredFunction>;
  readonly hooks: Map<string, Array<(ctx: unknown) => unknown>>;
  getProgrammingModel(): CoreProgrammingModel;
  /** Where system logs of the library go (the runner points this at its logger). */
  setLogSink(sink: CoreLogSink): void;
  /** Forget registrations so another app can be loaded into the same process (tests). */
  clearRegistrations(): void;
}

const shimKey = Symbol.for('hsm-lifecycle.runner.coreShim');

/**
 * Serves `@azure/functions-core` through a `Module.prototype.require` proxy, as the Node worker does
 * (`setupCoreModule.ts`). It must be installed before @azure/functions is first asked for the core API:
 * the library caches a failed lookup and then silently drops every registration ("test mode").
 * Idempotent and process-wide, because the require hook and that cache are process-wide too.
 */
export function installCoreShim(): CoreShim {
  const g = globalThis as unknown as Record<symbol, CoreShim | undefined>;
  const existing = g[shimKey];
  if (existing) return existing;

  const functions = new Map<string, RegisteredFunction>();
  const hooks = new Map<string, Array<(ctx: unknown) => unknown>>();
  let programmingModel: CoreProgrammingModel | undefined;
  let logSink: CoreLogSink = (level, category, message) => process.stderr.write(`[${level}] ${category}: ${message}\n`);

  class Disposable {
    #callback: () => void;
    constructor(callback: () => void) {
      this.#callback = callback;
    }
    static from(...items: Array<{ dispose(): void }>): Disposable {
      return new Disposable(() => items.forEach((i) => i.dispose()));
    }
    dispose(): void {
      this.#callback();
    }
  }

  const coreApi = {
    version: '3.10.1',
    hostVersion: '4.1037.0.0',
    setProgrammingModel(model: CoreProgrammingModel): void {
      programmingModel = model;
    },
    getProgrammingModel(): CoreProgrammingModel | undefined {
      return programmingModel;
    },
    registerFunction(metadata: CoreFunctionMetadata, handler: CoreHandler): Disposable {
      if (functions.has(metadata.name)) {
        throw new Error(`A function named "${metadata.name}" is already registered: function names must be unique within an app.`);
      }
      functions.set(metadata.name, { metadata, handler });
      return new Disposable(() => functions.delete(metadata.name));
    },
    registerHook(hookName: string, callback: (ctx: unknown) => unknown): Disposable {
      const list = hooks.get(hookName) ?? [];
      list.push(callback);
      hooks.set(hookName, list);
      return new Disposable(() => {
        const i = list.indexOf(callback);
        if (i >= 0) list.splice(i, 1);
      });
    },
    log(level: string, category: string, message: string): void {
      logSink(level, category, message);
    },
    Disposable,
  };

  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  proto.require = new Proxy(proto.require, {
    apply(target, thisArg, args: [string]) {
      if (args[0] === '@azure/functions-core') return coreApi;
      return Reflect.apply(target, thisArg, args) as unknown;
    },
  });

  const shim: CoreShim = {
    functions,
    hooks,
    getProgrammingModel() {
      if (!programmingModel) {
        throw new Error('No programming model registered: the app did not load @azure/functions (v4), so there is nothing to run.');
      }
      return programmingModel;
    },
    setLogSink(sink) {
      logSink = sink;
    },
    clearRegistrations() {
      functions.clear();
      hooks.clear();
    },
  };
  g[shimKey] = shim;
  return shim;
}
