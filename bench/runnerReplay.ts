/**
 * Runner benchmark: the journal's cost per fanned-out activity (500, 1,000, 2,000 activities; with vs without
 * `--state-dir`, the two sides alternated in one run, medians of several runs), raw activity invocation, and the
 * cost of one orchestrator episode (SDK replay through the app's handler + the emulated host's replay) as a history
 * grows to 100, 1,000 and 5,000 events. Prints one JSON object.
 * Run after a build: `node dist/bench/runnerReplay.js [--sizes 500,1000,2000] [--runs 5]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildOrchestrationTrigger, longRunningTimerIntervalMs, maximumShortTimerMs } from '../runner/durableReplay.js';
import { EventType, historyEvent, type HistoryEvent } from '../runner/historyEvents.js';
import { replayHost, type OrchestratorReply } from '../runner/hostReplay.js';
import { startRunner, type RunnerOptions } from '../runner/startRunner.js';

const appDir = path.resolve(__dirname, '../../test/fixtures/durable-app');
const runnerOptions: RunnerOptions = {
  appDir,
  port: 0,
  clock: 'virtual',
  log: false,
  settingsFile: path.join(appDir, 'fixture.settings.json'),
  maxConcurrentActivities: 10,
  scheduleTimers: false,
  startupTimers: false,
};

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? (process.argv[at + 1] as string) : fallback;
}

/** Wall time of one orchestration fanning out `n` no-op activities on a fresh runner, journaled or in memory. */
async function fanOutMs(n: number, journal: boolean): Promise<number> {
  const stateDir = journal ? mkdtempSync(path.join(tmpdir(), 'bench-journal-')) : undefined;
  const runner = await startRunner({ ...runnerOptions, ...(stateDir ? { stateDir } : {}) });
  try {
    const t = performance.now();
    runner.host.startNew('fanOut', 'bench-fan', n);
    const [done] = await runner.waitForTerminal(['bench-fan']);
    const ms = performance.now() - t;
    if (done?.runtimeStatus !== 'Completed' || JSON.parse(done.output ?? 'null') !== n * (n + 1)) throw new Error(`fanOut ${n} did not complete correctly: ${done?.runtimeStatus} ${done?.output}`);
    return ms;
  } finally {
    await runner.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Journal overhead per activity: the two sides alternate (ABBA…) so load drifts hit both alike. */
async function journalOverhead(sizes: number[], runs: number): Promise<unknown[]> {
  const out: unknown[] = [];
  await fanOutMs(200, true); // warm-up: JIT, module caches
  await fanOutMs(200, false);
  for (const n of sizes) {
    const withJournal: number[] = [];
    const without: number[] = [];
    const pairDiffs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const journalFirst = r % 2 === 0;
      const a = await fanOutMs(n, journalFirst);
      const b = await fanOutMs(n, !journalFirst);
      const [j, m] = journalFirst ? [a, b] : [b, a];
      withJournal.push(j);
      without.push(m);
      pairDiffs.push(j - m);
    }
    out.push({
      activities: n,
      runs,
      withJournalMs: round(median(withJournal)),
      withoutJournalMs: round(median(without)),
      perActivityWithJournalMs: round(median(withJournal) / n),
      perActivityWithoutJournalMs: round(median(without) / n),
      overheadPerActivityMs: round(median(pairDiffs) / n),
    });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

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
  const sizes = arg('--sizes', '500,1000,2000').split(',').map(Number);
  const runs = Number(arg('--runs', '5'));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(runs) || runs < 1) throw new Error('usage: runnerReplay [--sizes 500,1000,2000] [--runs 5]');
  // 1. The journal's cost per fanned-out activity, end to end.
  const journal = await journalOverhead(sizes, runs);

  const runner = await startRunner(runnerOptions);
  try {
    // 2. Raw activity invocation through the programming model (no durable bookkeeping).
    const invocations = 2000;
    const t = performance.now();
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
        journal,
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
