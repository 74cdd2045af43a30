import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRunner } from '../../runner/startRunner.js';
import { durableClientFor } from './durableClientFor.js';
import { repoRoot, runToExit, spawnRunner, type RunnerChild } from './runnerProcess.js';

// A small app written without the product's conventions: the runner must behave like the host for it too.
const appDir = path.join(repoRoot, 'test/fixtures/other-app');
const settings = path.join(appDir, 'other.settings.json');
const work = mkdtempSync(path.join(tmpdir(), 'runner-other-'));
const children: RunnerChild[] = [];

afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface Summary {
  ok: boolean;
  counts: Record<string, number>;
  instances: Array<{ name: string; instanceId: string; status: string; output?: unknown; error?: string }>;
  failedInvocations: Array<{ functionName: string; triggerType: string; invocationId: string; instanceId?: string; error: string }>;
}

const summaryOf = (lines: string[]): Summary => JSON.parse(lines.at(-1) as string) as Summary;

describe('an app the runner has never seen', () => {
  it('an orchestration started without input gets null from getInput(), through the real DurableClient and over HTTP', async () => {
    const runner = await startRunner({ appDir, port: 0, clock: 'virtual', settingsFile: settings, log: false, scheduleTimers: false, startupTimers: false });
    try {
      const client = durableClientFor(runner.durableClientData);
      await client.startNew('inputProbe', { instanceId: 'probe-client' });
      const res = await fetch(`${runner.url}/runtime/webhooks/durabletask/orchestrators/inputProbe/probe-http`, { method: 'POST', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(202);
      await client.startNew('inputProbe', { instanceId: 'probe-given', input: { a: 1 } });
      await runner.waitForTerminal(['probe-client', 'probe-http', 'probe-given']);
      expect((await client.getStatus('probe-client')).output).toEqual({ input: null, type: 'null' });
      expect((await client.getStatus('probe-http')).output).toEqual({ input: null, type: 'null' });
      expect((await client.getStatus('probe-given')).output).toEqual({ input: { a: 1 }, type: 'object' });
    } finally {
      await runner.close();
      // The in-process runner copied the settings into this process's environment, which child runners inherit.
      for (const key of ['FUNCTIONS_WORKER_RUNTIME', 'KICK_SCHEDULE', 'TIDY_SCHEDULE']) delete process.env[key];
    }
  });

  it('--once exits 0 with ok:true when every triggered function succeeded', async () => {
    const res = await runToExit(['--app', appDir, '--port', '0', '--once', '--virtual-time', '--settings', settings]);
    expect(res.code, res.stderr).toBe(0);
    const summary = summaryOf(res.lines);
    expect(summary.ok).toBe(true);
    expect(summary.failedInvocations).toEqual([]);
    expect(summary.instances).toEqual([{ name: 'inputProbe', instanceId: 'probe-from-timer', status: 'Completed', output: { input: null, type: 'null' } }]);
  });

  it('a timer function that throws is logged with its exception and stack, and --once exits 1 with ok:false', async () => {
    const res = await runToExit(['--app', appDir, '--port', '0', '--once', '--virtual-time', '--settings', settings], { OTHER_FAIL: 'timer' });
    expect(res.code).toBe(1);
    const summary = summaryOf(res.lines);
    expect(summary.ok).toBe(false);
    // The orchestration it started completed: only the timer function itself failed.
    expect(summary.counts).toEqual({ Completed: 1 });
    expect(summary.failedInvocations).toEqual([{ functionName: 'kick', triggerType: 'timerTrigger', invocationId: expect.stringMatching(/^[0-9a-f-]{36}$/), error: '[TimerBoom] kick could not finish' }]);
    const id = summary.failedInvocations[0]?.invocationId as string;
    expect(res.stderr).toContain(`Executed 'Functions.kick' (Failed, Id=${id}`);
    expect(res.stderr).toMatch(/Exception while executing function: Functions\.kick\. Result: Failure\nException: \[TimerBoom\] kick could not finish\nStack: Error: \[TimerBoom\] kick could not finish\n\s+at .*other-app[/\\]app[/\\]triggers\.js:\d+/);
  });

  it('an activity that throws fails its orchestration, is logged with its stack, and --once exits 1', async () => {
    const res = await runToExit(['--app', appDir, '--port', '0', '--once', '--virtual-time', '--settings', settings], { OTHER_FAIL: 'activity' });
    expect(res.code).toBe(1);
    const summary = summaryOf(res.lines);
    expect(summary.ok).toBe(false);
    expect(summary.counts).toEqual({ Completed: 1, Failed: 1 });
    expect(summary.instances.find((i) => i.instanceId === 'explodes-from-timer')?.error).toContain('[OtherBoom] the activity blew up');
    // The failure is the instance's; an activity's failed attempt alone (retried, or caught) does not fail a run.
    expect(summary.failedInvocations).toEqual([]);
    expect(res.stderr).toMatch(/Exception while executing function: Functions\.explode\. Result: Failure\nException: \[OtherBoom\] the activity blew up\nStack: Error: \[OtherBoom\] the activity blew up\n\s+at .*workflows\.js:\d+/);
    // The orchestrator's failure is logged without the state payload durable-functions adds for the host.
    expect(res.stderr).toContain('Exception while executing function: Functions.explodes.');
    expect(res.stderr).not.toContain('$OutOfProcData$');
  });

  it('bad timer settings fail loudly before anything runs: one error naming every bad key, exit 2', async () => {
    const bad = path.join(work, 'bad.settings.json');
    writeFileSync(bad, JSON.stringify({ Values: { TIDY_SCHEDULE: '0 0 99 * * *' } }));
    const res = await runToExit(['--app', appDir, '--port', '0', '--once', '--virtual-time', '--settings', bad]);
    expect(res.code).toBe(2);
    expect(res.lines).toEqual([]); // no ready line, no summary: nothing was started
    const errors = res.stderr.split('\n').filter((l) => l.startsWith('runner: '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('2 timer settings are invalid');
    expect(errors[0]).toContain("Timer function 'kick': its schedule refers to app setting %KICK_SCHEDULE%, which is not set");
    expect(errors[0]).toContain("Timer function 'tidy': Timer schedule \"0 0 99 * * *\" is not valid NCRONTAB");
  });

  it('--virtual-time without --once fires durable timers when the runner is idle', async () => {
    const r = await spawnRunner(['--app', appDir, '--port', '0', '--virtual-time', '--settings', settings]);
    children.push(r);
    const start = await fetch(`${r.ready.url}/runtime/webhooks/durabletask/orchestrators/napper/nap-1`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(start.status).toBe(202);
    const deadline = Date.now() + 20_000;
    let status: { runtimeStatus?: string; output?: unknown; createdTime?: string; lastUpdatedTime?: string } = {};
    while (Date.now() < deadline) {
      status = (await (await fetch(`${r.ready.url}/runtime/webhooks/durabletask/instances/nap-1`)).json()) as typeof status;
      if (status.runtimeStatus === 'Completed') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe('rested');
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });
});
