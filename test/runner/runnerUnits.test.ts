import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppSettings, resolveSettingRef } from '../../runner/appSettings.js';
import { EventType, historyEvent, type HistoryEvent } from '../../runner/historyEvents.js';
import { replayHost, type OrchestratorReply } from '../../runner/hostReplay.js';
import { compileRoute } from '../../runner/httpRoutes.js';
import { expandMainGlob } from '../../runner/mainGlob.js';
import { parseNcrontab } from '../../runner/ncrontab.js';

const work = mkdtempSync(path.join(tmpdir(), 'runner-units-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('NCRONTAB schedules', () => {
  it('reads 6 fields with seconds first', () => {
    expect(parseNcrontab('*/10 * * * * *').next(new Date('2026-06-01T00:00:05Z')).toISOString()).toBe('2026-06-01T00:00:10.000Z');
    expect(parseNcrontab('0 0 2 * * *').next(new Date('2026-06-01T03:00:00Z')).toISOString()).toBe('2026-06-02T02:00:00.000Z');
  });

  it('ANDs day-of-month with day-of-week, as NCrontab does (cron ORs them)', () => {
    expect(parseNcrontab('0 0 2 13 * Fri').next(new Date('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-02-13T02:00:00.000Z');
  });

  it('ANDs them in the schedule time zone, skipping a failed day whole even for a per-second schedule', () => {
    // 2026-12-06T23:30Z is Monday 7 December 00:30 in Berlin: the first Monday, local time.
    expect(parseNcrontab('0 0 3 1-7 * Mon', 'Europe/Berlin').next(new Date('2026-12-06T12:00:00Z')).toISOString()).toBe('2026-12-07T02:00:00.000Z');
    expect(parseNcrontab('* * * 1-7 * Mon', 'Europe/Berlin').next(new Date('2026-12-01T00:00:00Z')).toISOString()).toBe('2026-12-06T23:00:00.000Z');
    expect(parseNcrontab('0 0 0 29 2 Mon').next(new Date('2026-12-06T00:00:00Z')).toISOString()).toBe('2044-02-29T00:00:00.000Z');
  });

  it('rejects forms of other cron dialects that the host (NCrontab) refuses', () => {
    expect(() => parseNcrontab('0 0 3 * * MON#1')).toThrow(/"MON#1" in its day-of-week field, which NCRONTAB does not accept/);
    expect(() => parseNcrontab('0 0 3 L * *')).toThrow(/"L" in its day field/);
    expect(() => parseNcrontab('H 0 3 * * *')).toThrow(/"H" in its second field/);
    expect(() => parseNcrontab('0 0 3 * * 7')).toThrow(/day-of-week "7"; NCRONTAB days of week run 0-6/);
  });

  it('evaluates in WEBSITE_TIME_ZONE when given', () => {
    expect(parseNcrontab('0 0 2 * * *', 'Europe/Berlin').next(new Date('2026-05-31T23:00:00Z')).toISOString()).toBe('2026-06-01T00:00:00.000Z');
  });

  it('rejects 5-field cron with the fix, and other field counts', () => {
    expect(() => parseNcrontab('0 2 * * *')).toThrow(/5 fields.*6-field NCRONTAB.*"0 0 2 \* \* \*"/);
    expect(() => parseNcrontab('0 0 2 * * * 2026')).toThrow(/7 fields/);
    expect(() => parseNcrontab('0 0 99 * * *')).toThrow(/not valid NCRONTAB/);
  });
});

describe('app settings', () => {
  it('copies Values into process.env without overriding the environment, and resolves %NAME%', () => {
    const file = path.join(work, 'settings.json');
    process.env.RUNNER_TEST_PRESET = 'from-env';
    writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: { RUNNER_TEST_A: '0 0 3 * * *', RUNNER_TEST_PRESET: 'from-file', RUNNER_TEST_N: 5 } }));
    const applied = loadAppSettings(file);
    expect(applied).toEqual({ RUNNER_TEST_A: '0 0 3 * * *', RUNNER_TEST_PRESET: 'from-env', RUNNER_TEST_N: '5' });
    expect(resolveSettingRef('%RUNNER_TEST_A%', 'schedule')).toBe('0 0 3 * * *');
    expect(resolveSettingRef('0 0 1 * * *', 'schedule')).toBe('0 0 1 * * *');
    expect(() => resolveSettingRef('%RUNNER_TEST_MISSING%', "Timer function 'x' schedule")).toThrow(/%RUNNER_TEST_MISSING%, which is not set/);
  });

  it('refuses a settings file whose Values is not an object', () => {
    const file = path.join(work, 'bad.json');
    writeFileSync(file, JSON.stringify({ Values: ['x'] }));
    expect(() => loadAppSettings(file)).toThrow(/"Values" must be an object/);
  });
});

describe('entry point globs and HTTP routes', () => {
  it('expands package.json main globs like the worker (*, **, {a,b}), sorted, skipping node_modules', () => {
    const root = path.join(work, 'app');
    for (const d of ['dist/functions/sub', 'node_modules/x']) mkdirSync(path.join(root, d), { recursive: true });
    for (const f of ['dist/functions/a.js', 'dist/functions/b.js', 'dist/functions/c.map', 'dist/functions/sub/d.js', 'node_modules/x/e.js']) writeFileSync(path.join(root, f), '');
    const rel = (files: string[]): string[] => files.map((f) => path.relative(root, f));
    expect(rel(expandMainGlob(root, 'dist/functions/*.js'))).toEqual(['dist/functions/a.js', 'dist/functions/b.js']);
    expect(rel(expandMainGlob(root, 'dist/**/*.js'))).toEqual(['dist/functions/a.js', 'dist/functions/b.js', 'dist/functions/sub/d.js']);
    expect(rel(expandMainGlob(root, './dist/functions/{a,c}.*'))).toEqual(['dist/functions/a.js', 'dist/functions/c.map']);
    expect(rel(expandMainGlob(root, 'dist/functions/b.js'))).toEqual(['dist/functions/b.js']);
    expect(expandMainGlob(root, 'src/*.js')).toEqual([]);
  });

  it('matches route templates with optional, constrained and catch-all parameters', () => {
    expect(compileRoute('orchestrators/{name}/{id?}').match('/orchestrators/flow')).toEqual({ name: 'flow' });
    expect(compileRoute('orchestrators/{name}/{id?}').match('/orchestrators/flow/abc')).toEqual({ name: 'flow', id: 'abc' });
    expect(compileRoute('items/{id:int}').match('/items/7')).toEqual({ id: '7' });
    expect(compileRoute('files/{*path}').match('/files/a/b/c')).toEqual({ path: 'a/b/c' });
    expect(compileRoute('hello').match('/goodbye')).toBeUndefined();
  });
});

describe('host replay (the emulated Durable extension side)', () => {
  const t0 = Date.parse('2026-06-01T02:00:00Z');
  const opts = { executionId: 'exec', orchestratorName: 'o', maximumShortTimerMs: 6 * 86_400_000, longTimerIntervalMs: 3 * 86_400_000 };
  const start = (): HistoryEvent[] => [historyEvent(EventType.OrchestratorStarted, t0), historyEvent(EventType.ExecutionStarted, t0, { Name: 'o', Input: 'null' })];
  const reply = (actions: OrchestratorReply['actions'][number], extra: Partial<OrchestratorReply> = {}): OrchestratorReply => ({ isDone: false, actions: [actions], ...extra });

  it('flags a changed orchestrator as non-deterministic', async () => {
    const history = [...start(), historyEvent(EventType.TaskScheduled, t0, { EventId: 0, Name: 'a' }), historyEvent(EventType.OrchestratorCompleted, t0)];
    const r = await replayHost(history, reply([{ actionType: 0, functionName: 'b', input: null }]), opts);
    expect(r.outcome).toMatchObject({ kind: 'failed' });
    expect((r.outcome as { message: string }).message).toMatch(/Non-deterministic workflow detected.*activity:a with id 0.*activity:b/);
  });

  it('keeps the instance Running while an un-canceled WhenAny loser timer is open, and completes once it is canceled', async () => {
    const history = [
      ...start(),
      historyEvent(EventType.TaskScheduled, t0, { EventId: 0, Name: 'a' }),
      historyEvent(EventType.TimerCreated, t0, { EventId: 1, FireAt: new Date(t0 + 60_000).toISOString() }),
      historyEvent(EventType.OrchestratorCompleted, t0),
      historyEvent(EventType.OrchestratorStarted, t0 + 1000),
      historyEvent(EventType.TaskCompleted, t0 + 1000, { TaskScheduledId: 0, Result: '1' }),
    ];
    const race = (canceled: boolean): OrchestratorReply['actions'][number] => [
      { actionType: 11, compoundActions: [{ actionType: 0, functionName: 'a', input: null }, { actionType: 5, fireAt: new Date(t0 + 60_000).toISOString(), isCanceled: canceled }] },
    ];
    const open = await replayHost(history, reply(race(false), { isDone: true, output: 1 }), opts);
    expect(open.outcome).toEqual({ kind: 'running' });
    expect([...open.open]).toEqual([1]);
    const done = await replayHost(history, reply(race(true), { isDone: true, output: 1 }), opts);
    expect(done.outcome).toEqual({ kind: 'completed', output: 1 });
    expect(done.newEvents).toEqual([]);
  });

  it('buffers an external event that arrives before anyone waits for it', async () => {
    const history = [...start(), historyEvent(EventType.EventRaised, t0, { Name: 'Go', Input: '{"x":1}' })];
    const r = await replayHost(history, reply([{ actionType: 6, externalEventName: 'Go' }, { actionType: 0, functionName: 'next', input: { x: 1 } }]), opts);
    expect(r.newWork).toEqual([{ kind: 'activity', id: 0, name: 'next', input: { x: 1 } }]);
  });
});
