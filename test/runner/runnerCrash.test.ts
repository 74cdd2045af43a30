import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readArchivedRecord, replayJournal } from '../../runner/instanceStore.js';
import { repoRoot, spawnRunner, type RunnerChild } from './runnerProcess.js';

const appDir = path.join(repoRoot, 'test/fixtures/durable-app');
const work = mkdtempSync(path.join(tmpdir(), 'runner-crash-'));
const stateDir = path.join(work, 'state');
const sideEffects = path.join(work, 'side-effects.jsonl');
const env = { SIDE_EFFECT_FILE: sideEffects, STEP_DELAY_MS: '250' };
let current: RunnerChild | undefined;

afterAll(() => {
  if (current && current.child.exitCode === null) current.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface JournalRecord {
  instanceId: string;
  runtimeStatus: string;
  history: Array<{ EventType: number }>;
  inbox: Array<{ EventType: number }>;
}

/** The latest committed state of an instance, read from the runner's state dir as a crash would leave it. */
function journaled(instanceId: string): JournalRecord | undefined {
  const file = path.join(stateDir, 'journal.jsonl');
  if (!existsSync(file)) return undefined;
  // Lines are appended whole and fsync'd; a line being written right now is skipped, as the runner does.
  const { live, finished } = replayJournal(readFileSync(file, 'utf8'));
  const record = live.get(instanceId) ?? (finished.has(instanceId) ? readArchivedRecord(path.join(stateDir, 'instances'), instanceId) : undefined);
  return record;
}

const count = (r: JournalRecord | undefined, type: number): number => (r ? [...r.history, ...r.inbox].filter((e) => e.EventType === type).length : 0);

/**
 * No activity is between writing its side effect and the journaling of its result: only then is a kill
 * guaranteed not to hit the at-least-once window (an activity whose result was not recorded runs again).
 */
function quiescent(): boolean {
  const written = existsSync(sideEffects) ? readFileSync(sideEffects, 'utf8').trim().split('\n').filter(Boolean).length : 0;
  const recorded = ['crash-a', 'crash-b'].reduce((n, id) => n + count(journaled(id), 5), 0);
  return written === recorded;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(check() && quiescent())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function start(): Promise<RunnerChild> {
  current = await spawnRunner(['--app', appDir, '--port', '0', '--state-dir', stateDir, '--settings', path.join(appDir, 'fixture.settings.json')], env);
  return current;
}

async function kill(r: RunnerChild): Promise<void> {
  r.child.kill('SIGKILL');
  await r.exited;
}

describe('crash safety: SIGKILL at several points of a multi-step orchestration', () => {
  it('resumes every instance after each kill and runs each completed activity exactly once', async () => {
    const ids = ['crash-a', 'crash-b'];
    const delays: Record<string, number> = { 'crash-a': 150, 'crash-b': 400 };
    let r = await start();
    for (const id of ids) {
      const res = await fetch(`${r.ready.url}/runtime/webhooks/durabletask/orchestrators/multiStep/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delayMs: delays[id] }) });
      expect(res.status).toBe(202);
    }
    // 1: right after the starts are committed, before any step finished.
    await until('both instances are journaled', () => ids.every((id) => journaled(id) !== undefined));
    await kill(r);

    // 2: just after crash-a's first completion is journaled (before the episode that consumes it).
    r = await start();
    await until('step 1 of crash-a completed', () => count(journaled('crash-a'), 5) >= 1);
    await kill(r);

    // 3: while crash-a waits on its durable timer (after step 2).
    r = await start();
    await until('crash-a scheduled its timer', () => count(journaled('crash-a'), 10) >= 1 && count(journaled('crash-a'), 11) === 0);
    await kill(r);

    // 4: after crash-b's third completion.
    r = await start();
    await until('step 3 of crash-b completed', () => count(journaled('crash-b'), 5) >= 3);
    await kill(r);

    r = await start();
    await until('every instance completed', () => ids.every((id) => journaled(id)?.runtimeStatus === 'Completed'));
    for (const id of ids) {
      const status = (await (await fetch(`${r.ready.url}/runtime/webhooks/durabletask/instances/${id}`)).json()) as { runtimeStatus: string; output: unknown };
      expect(status.runtimeStatus).toBe('Completed');
      expect(status.output).toEqual([1, 2, 3, 4].map((s) => `${id}#${s}`));
    }
    const effects = readFileSync(sideEffects, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { instanceId: string; step: number });
    for (const id of ids) {
      expect(effects.filter((e) => e.instanceId === id).map((e) => e.step).sort()).toEqual([1, 2, 3, 4]);
    }
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });
});
