import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadAppSettings } from './appSettings.js';
import { loadApp } from './appLoader.js';
import { createRealClock, createVirtualClock, type Clock } from './clock.js';
import { DurableHost } from './durableHost.js';
import { createFunctionInvoker, type FailedInvocation, type FunctionInvoker } from './functionInvoker.js';
import { durableRoutePrefix, startHttpServer, taskHubName } from './httpServer.js';
import { InstanceStore, terminalStatuses, type InstanceRecord } from './instanceStore.js';
import { createStderrLogger, type RunnerLogger } from './logger.js';
import { collectTimerTriggers, TimerScheduler } from './timerTriggers.js';

export interface RunnerOptions {
  /** The function app root (its package.json `main` names the entry files). */
  appDir: string;
  /** 0 = ephemeral. Default 7071, as Core Tools. */
  port?: number;
  /** Where the orchestration journal lives; without it everything is in memory. */
  stateDir?: string;
  /** A local.settings.json-style file whose `Values` become app settings (default: the app's local.settings.json, if any). */
  settingsFile?: string;
  /** 'real' (default) or 'virtual': durable timers fire as soon as the runner is idle. */
  clock?: 'real' | 'virtual';
  /**
   * Virtual clock only: jump to the next durable timer by itself whenever nothing else is left to do (the CLI's
   * `--virtual-time` without `--once`). Off by default: code that drives the runner jumps with `waitForIdle()`.
   */
  advanceWhenIdle?: boolean;
  /** Run timer triggers on their NCRONTAB schedule (default: true with the real clock). */
  scheduleTimers?: boolean;
  /** Fire runOnStartup and missed (isPastDue) timer functions at start (default true; `--once` turns it off). */
  startupTimers?: boolean;
  maxConcurrentActivities?: number;
  /** Request bodies larger than this get 413, on every route (default 1 MiB). */
  maxBodyBytes?: number;
  /** Host names served besides 127.0.0.1/localhost/[::1], e.g. a tunnel for real Event Grid deliveries. */
  allowedHosts?: string[];
  /** false silences logs; or pass your own logger. */
  log?: boolean | RunnerLogger;
}

export interface InstanceSummary {
  name: string;
  instanceId: string;
  status: string;
  output?: unknown;
  error?: string;
}

export interface RunSummary {
  event: 'summary';
  ok: boolean;
  counts: Record<string, number>;
  instances: InstanceSummary[];
  /** `--once --timeout`: set when instances were still running at the deadline. */
  timedOut?: boolean;
  /**
   * Every invocation of a timer, Event Grid, orchestrator or activity function that threw (HTTP triggers answer
   * their caller instead). Any of them makes `ok` false, even when an orchestration caught the error.
   */
  failedInvocations: FailedInvocation[];
}

export interface Runner {
  url: string;
  functions: string[];
  /** The OrchestrationClientInputData the runner gives durableClient inputs (for `new DurableClient(...)` in tests). */
  durableClientData: Record<string, unknown>;
  host: DurableHost;
  invoker: FunctionInvoker;
  /** Top-level instance ids started since this runner started, plus unfinished ones it resumed. */
  startedInstances: Set<string>;
  fireTimer(name: string, isPastDue?: boolean): Promise<boolean>;
  fireAllTimers(): Promise<void>;
  /** Resolves when nothing is left to do now (virtual clock: after firing every pending durable timer). */
  waitForIdle(): Promise<void>;
  /** Resolves when every given (default: every started) instance is Completed, Failed or Terminated. */
  waitForTerminal(instanceIds?: string[]): Promise<InstanceRecord[]>;
  summary(instanceIds?: string[]): RunSummary;
  close(): Promise<void>;
}

/** Starts the offline Functions + Durable runner in this process. */
export async function startRunner(options: RunnerOptions): Promise<Runner> {
  const logger = typeof options.log === 'object' ? options.log : createStderrLogger(options.log !== false);
  // Like Core Tools, fall back to the app's own local.settings.json.
  const defaultSettings = path.join(options.appDir, 'local.settings.json');
  const settingsFile = options.settingsFile ?? (existsSync(defaultSettings) ? defaultSettings : undefined);
  if (settingsFile) loadAppSettings(settingsFile);
  const app = await loadApp(options.appDir);
  app.shim.setLogSink((level, category, message) => logger.system(`${category} ${level}: ${message}`));
  const clock: Clock = options.clock === 'virtual' ? createVirtualClock() : createRealClock();
  const store = new InstanceStore(options.stateDir);
  let clientData: Record<string, unknown> = {};
  const failedInvocations: FailedInvocation[] = [];
  const handledElsewhere: ReadonlySet<string> = new Set(['httpTrigger', 'activityTrigger', 'orchestrationTrigger']);
  const invoker = createFunctionInvoker({
    shim: app.shim,
    functions: app.functions,
    logger,
    durableClientData: () => clientData,
    onFailure: (f) => {
      // An HTTP caller sees its own error, and a failed activity or orchestrator shows in its instance's status
      // (an activity that failed and then succeeded on retry is not a failed run); the rest — timers, Event Grid
      // and other triggers — fail silently unless counted here.
      if (!handledElsewhere.has(f.triggerType)) failedInvocations.push(f);
    },
  });
  const timers = collectTimerTriggers(invoker); // validate schedules before serving anything
  const host = new DurableHost(store, invoker, clock, logger, options.maxConcurrentActivities ?? 10, options.advanceWhenIdle === true);
  const startedInstances = new Set<string>();
  for (const inst of store.liveRecords()) if (!terminalStatuses.has(inst.runtimeStatus) && !inst.parent) startedInstances.add(inst.instanceId);

  host.onStart = (id) => startedInstances.add(id);
  const server = await startHttpServer({
    port: options.port ?? 7071,
    invoker,
    host,
    logger,
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.allowedHosts !== undefined ? { allowedHosts: options.allowedHosts } : {}),
  });
  const base = `${server.url}${durableRoutePrefix}`;
  const q = `taskHub=${taskHubName}&connection=Storage&code=`;
  clientData = {
    taskHubName,
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?code=`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=`,
    },
    managementUrls: {
      id: 'INSTANCEID',
      statusQueryGetUri: `${base}/instances/INSTANCEID?${q}`,
      sendEventPostUri: `${base}/instances/INSTANCEID/raiseEvent/{eventName}?${q}`,
      terminatePostUri: `${base}/instances/INSTANCEID/terminate?reason={text}&${q}`,
      rewindPostUri: `${base}/instances/INSTANCEID/rewind?reason={text}&${q}`,
      purgeHistoryDeleteUri: `${base}/instances/INSTANCEID?${q}`,
      restartPostUri: `${base}/instances/INSTANCEID/restart?${q}`,
      suspendPostUri: `${base}/instances/INSTANCEID/suspend?reason={text}&${q}`,
      resumePostUri: `${base}/instances/INSTANCEID/resume?reason={text}&${q}`,
    },
    baseUrl: base,
    requiredQueryStringParameters: 'code=',
    rpcBaseUrl: `${base}/`,
  };
  // The durable client rewrites management URLs to localhost:7071 unless the host name is known, as Core Tools sets it.
  if (!process.env.WEBSITE_HOSTNAME) process.env.WEBSITE_HOSTNAME = server.url.replace(/^http:\/\//, '');

  const scheduler = new TimerScheduler(timers, invoker, logger, options.stateDir);
  host.recover();
  scheduler.start({ startup: options.startupTimers !== false, schedule: options.scheduleTimers ?? options.clock !== 'virtual' });

  const summary = (ids?: string[]): RunSummary => {
    const list = (ids ?? [...startedInstances]).map((id) => host.get(id)).filter((i): i is InstanceRecord => i !== undefined);
    const counts: Record<string, number> = {};
    const instances = list.map((i) => {
      counts[i.runtimeStatus] = (counts[i.runtimeStatus] ?? 0) + 1;
      const out: InstanceSummary = { name: i.name, instanceId: i.instanceId, status: i.runtimeStatus };
      const value = i.output === null ? null : (JSON.parse(i.output) as unknown);
      if (i.runtimeStatus === 'Failed' || i.runtimeStatus === 'Terminated') out.error = typeof value === 'string' ? value : JSON.stringify(value);
      else out.output = value;
      return out;
    });
    const failed = failedInvocations.filter((f) => ids === undefined || (f.instanceId !== undefined && ids.includes(f.instanceId)));
    const ok = !list.some((i) => i.runtimeStatus === 'Failed' || i.runtimeStatus === 'Terminated') && failed.length === 0;
    return { event: 'summary', ok, counts, instances, failedInvocations: failed };
  };

  let closed = false;
  return {
    url: server.url,
    functions: [...app.functions.keys()],
    durableClientData: clientData,
    host,
    invoker,
    startedInstances,
    fireTimer: (name, isPastDue) => scheduler.fire(name, isPastDue),
    fireAllTimers: () => scheduler.fireAll(),
    waitForIdle: () => host.waitForIdle(),
    async waitForTerminal(ids) {
      for (;;) {
        await host.waitForIdle();
        const all = ids ?? [...startedInstances];
        if (all.every((id) => terminalStatuses.has(host.status(id)?.runtimeStatus ?? 'Pending'))) return all.map((id) => host.get(id)) as InstanceRecord[];
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    summary,
    async close() {
      if (closed) return;
      closed = true;
      scheduler.stop();
      host.close();
      await server.close();
      clock.dispose();
      store.close();
    },
  };
}
