import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerLogger } from '../../runner/logger.js';
import { startRunner, type Runner } from '../../runner/startRunner.js';

const appDir = path.resolve(__dirname, '../fixtures/durable-app');
const work = mkdtempSync(path.join(tmpdir(), 'runner-logs-'));
const lines: string[] = [];
const logger: RunnerLogger = {
  lifecycle: (m) => lines.push(m),
  functionLog: (fn, id, level, m) => lines.push(`[${fn}] [${level}] (Id=${id}) ${m}`),
  system: (m) => lines.push(`[runner] ${m}`),
};
let runner: Runner;

beforeAll(async () => {
  const stateDir = path.join(work, 'state');
  mkdirSync(stateDir, { recursive: true });
  // The schedule monitor recorded a 'nightly' occurrence that passed while the runner was down.
  writeFileSync(path.join(stateDir, 'timer-status.json'), JSON.stringify({ nightly: { last: '2026-01-01T02:00:00.000Z', next: '2026-01-02T02:00:00.000Z' } }));
  runner = await startRunner({ appDir, port: 0, stateDir, settingsFile: path.join(appDir, 'fixture.settings.json'), log: logger });
});

afterAll(async () => {
  await runner?.close();
  rmSync(work, { recursive: true, force: true });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out; log so far:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('logs and timer start-up behaviour', () => {
  it('fires runOnStartup functions and a missed occurrence with isPastDue=true', async () => {
    await until(() => lines.some((l) => l.includes('startup ping')) && lines.some((l) => l.includes('nightly singleton')));
    expect(lines.filter((l) => l.includes('startup ping isPastDue=false'))).toHaveLength(1);
    expect(lines.find((l) => l.includes('nightly singleton'))).toMatch(/\[nightly\] \[information\] \(Id=[0-9a-f-]{36}\) nightly singleton nightly-\S+: started \(isPastDue=true\)/);
  });

  it('prints an orchestrator’s context.log once, not again on every replay', async () => {
    runner.host.startNew('chatty', 'chatty-1', null);
    await runner.waitForTerminal(['chatty-1']);
    expect(runner.host.get('chatty-1')?.runtimeStatus).toBe('Completed');
    for (const text of ['chatty before step 1', 'chatty before step 2', 'chatty before step 3', 'chatty done']) {
      expect(lines.filter((l) => l.includes(text)), text).toHaveLength(1);
    }
    // Every invocation is logged with its function name and invocation id.
    const episodes = lines.filter((l) => /^Executing 'Functions\.chatty' \(Reason='Orchestration episode of instance chatty-1/.test(l));
    expect(episodes.length).toBeGreaterThanOrEqual(4);
  });
});
