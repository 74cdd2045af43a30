import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runToExit } from './runnerProcess.js';

const durableApp = path.join(repoRoot, 'test/fixtures/durable-app');
const esmApp = path.join(repoRoot, 'test/fixtures/esm-app');
const work = mkdtempSync(path.join(tmpdir(), 'runner-cli-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Summary {
  event: string;
  ok: boolean;
  counts: Record<string, number>;
  instances: Array<{ name: string; instanceId: string; status: string; output?: unknown; error?: string }>;
}

describe('node dist/runner/main.js', () => {
  it('--once fires every timer, waits for the orchestrations it started and exits 0 with a summary line', async () => {
    const res = await runToExit(['--app', durableApp, '--port', '0', '--once', '--virtual-time', '--settings', path.join(durableApp, 'fixture.settings.json'), '--state-dir', path.join(work, 'once')]);
    expect(res.code).toBe(0);
    expect(res.lines).toHaveLength(2);
    const ready = JSON.parse(res.lines[0] as string) as { event: string; url: string; functions: string[] };
    expect(ready.event).toBe('ready');
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.functions).toContain('nightly');
    const summary = JSON.parse(res.lines[1] as string) as Summary;
    expect(summary.event).toBe('summary');
    expect(summary.ok).toBe(true);
    expect(summary.counts).toEqual({ Completed: 1 });
    expect(summary.instances[0]).toMatchObject({ name: 'child', status: 'Completed', output: 'Hello nightly!' });
    expect(summary.instances[0]?.instanceId).toMatch(/^nightly-/);
    // Per-invocation logs with function name and invocation id go to stderr.
    expect(res.stderr).toMatch(/Executing 'Functions\.nightly' \(Reason='Timer fired at [^']+', Id=[0-9a-f-]{36}\)/);
    expect(res.stderr).toMatch(/\[nightly\] \[information\] \(Id=[0-9a-f-]{36}\) nightly singleton nightly-\S+: started \(isPastDue=false\)/);
  });

  it('loads an ES-module app, and exits 1 when an orchestration failed, naming the error', async () => {
    const res = await runToExit(['--app', esmApp, '--port', '0', '--once', '--virtual-time']);
    expect(res.code).toBe(1);
    const summary = JSON.parse(res.lines.at(-1) as string) as Summary;
    expect(summary.ok).toBe(false);
    expect(summary.counts).toEqual({ Completed: 1, Failed: 1 });
    expect(summary.instances.find((i) => i.instanceId === 'esm-ok')?.output).toBe('HELLO!');
    expect(summary.instances.find((i) => i.instanceId === 'esm-fail')?.error).toContain('[EsmFail] this workflow always fails');
  });

  it('--once --timeout reports instances still running at the deadline and exits 1', async () => {
    const res = await runToExit(['--app', esmApp, '--port', '0', '--once', '--timeout', '1'], { ESM_WAIT: '1' });
    expect(res.code).toBe(1);
    const summary = JSON.parse(res.lines.at(-1) as string) as Summary & { timedOut?: boolean };
    expect(summary.timedOut).toBe(true);
    expect(summary.counts).toEqual({ Completed: 1, Failed: 1, Running: 1 });
    expect(summary.instances.find((i) => i.instanceId === 'esm-wait')?.status).toBe('Running');
  });

  it('rejects a 5-field schedule with an error that says NCRONTAB needs 6 fields', async () => {
    const settings = path.join(work, 'five.settings.json');
    writeFileSync(settings, JSON.stringify({ Values: { NIGHTLY_SCHEDULE: '0 2 * * *' } }));
    const res = await runToExit(['--app', durableApp, '--port', '0', '--once', '--settings', settings]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("Timer function 'nightly': Timer schedule \"0 2 * * *\" has 5 fields");
    expect(res.stderr).toContain('6-field NCRONTAB');
  });

  it('explains a missing app and unknown arguments', async () => {
    const missing = await runToExit(['--app', path.join(work, 'nothing-here')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('package.json');
    const unknown = await runToExit(['--app', durableApp, '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown argument "--frobnicate"');
  });
});
