/**
 * Runner benchmark: activity dispatch overhead, and the cost of one orchestrator episode (SDK replay through
 * the app's handler + the emulated host's replay) as a history grows to 100, 1,000 and 5,000 events.
 * Prints one JSON object. Run after a build: `node dist/bench/runnerReplay.js`.
 */
import path from 'node:path';
import { buildOrchestrationTrigger, longRunningTimerIntervalMs, maximumShortTimerMs } from '../runner/durableReplay.js';
import { EventType, historyEvent, type HistoryEvent } from '../runner/historyEvents.js';
import { replayHost, type OrchestratorReply } from '../runner/hostReplay.js';
import { startRunner } from '../runner/startRunner.js';

const appDir = path.resolve(__dirname, '../../test/fixtures/durable-app');

/** The history the host writes for `chain` after `steps` completed activities (4 events per step + 2). */
function chainHistory(steps: number, t0: number): HistoryEvent[] {
  const h: HistoryEvent[] = [
    historyEvent(EventType.OrchestratorStarted, t0),
    historyEvent(EventType.ExecutionStarted, t0, { Name: 'chain', Input: JSON.stringify(1_000_000) }),
  ];
  for (let i = 0; i < steps; i++) {
    const t = t0 + i * 10;
    h.push(historyEvent(EventType.TaskScheduled, t, { EventId: i, Name: 'double', Input: String(i + 1) }));
    h.push(historyEvent(EventType.OrchestratorCompleted, t));
    h.push(historyEvent(EventType.OrchestratorStarted, t + 5));
    h.push(historyEvent(EventType.TaskCompleted, t + 5, { TaskScheduledId: i, Result: String((i + 1) * 2) }));
  }
  return h;
}

async function main(): Promise<void> {
  const runner = await startRunner({ appDir, port: 0, clock: 'virtual', log: false, settingsFile: path.join(appDir, 'fixture.settings.json'), maxConcurrentActivities: 10 });
  try {
    // 1. Dispatch overhead: one orchestration fanning out N no-op activities, end to end.
    const fanOut = 500;
    let t = performance.now();
    runner.host.startNew('fanOut', 'bench-fan', fanOut);
    await runner.waitForTerminal(['bench-fan']);
    const fanMs = performance.now() - t;

    // 2. Raw activity invocation through the programming model (no durable bookkeeping).
    const invocations = 2000;
    t = performance.now();
    for (let i = 0; i < invocations; i++) await runner.invoker.invoke({ functionName: 'double', trigger: { json: String(i) }, reason: 'bench', quietLifecycle: true });
    const invokeMs = performance.now() - t;

    // 3. One episode's replay cost at growing history sizes.
    const replay: Array<{ historyEvents: number; sdkReplayMs: number; hostReplayMs: number; episodeMs: number }> = [];
    for (const target of [100, 1000, 5000]) {
      const steps = Math.round((target - 2) / 4);
      const history = chainHistory(steps, Date.parse('2026-06-01T02:00:00Z'));
      const trigger = buildOrchestrationTrigger({ history, input: 1_000_000, instanceId: `bench-${target}`, isReplaying: true, parentInstanceId: null });
      const rounds = target >= 5000 ? 3 : 10;
      let sdk = 0;
      let host = 0;
      for (let r = 0; r < rounds; r++) {
        let s = performance.now();
        const res = await runner.invoker.invoke({ functionName: 'chain', trigger: { json: JSON.stringify(trigger) }, reason: 'bench', quietLifecycle: true, quietWhen: () => true });
        sdk += performance.now() - s;
        if (!res.ok) throw new Error(`chain replay failed: ${String(res.error)}`);
        const reply = JSON.parse(JSON.stringify(res.result)) as OrchestratorReply;
        s = performance.now();
        const out = await replayHost(history, reply, { executionId: 'x', orchestratorName: 'chain', maximumShortTimerMs, longTimerIntervalMs: longRunningTimerIntervalMs });
        host += performance.now() - s;
        if (out.newWork.length !== 1 || out.newWork[0]?.kind !== 'activity') throw new Error('unexpected replay result: expected the next activity');
      }
      replay.push({ historyEvents: history.length, sdkReplayMs: round(sdk / rounds), hostReplayMs: round(host / rounds), episodeMs: round((sdk + host) / rounds) });
    }

    process.stdout.write(
      JSON.stringify({
        benchmark: 'runnerReplay',
        node: process.version,
        fanOut: { activities: fanOut, totalMs: round(fanMs), perActivityMs: round(fanMs / fanOut), episodes: runner.host.stats.episodes },
        invoke: { invocations, perInvocationUs: round((invokeMs / invocations) * 1000) },
        replay,
      }) + '\n',
    );
  } finally {
    await runner.close();
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

main().catch((err: unknown) => {
  process.stderr.write(`runnerReplay benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
