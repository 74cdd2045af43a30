import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveSettingRef } from './appSettings.js';
import type { FunctionInvoker } from './functionInvoker.js';
import type { RunnerLogger } from './logger.js';
import { parseNcrontab, type NcrontabSchedule } from './ncrontab.js';

export interface TimerTrigger {
  name: string;
  schedule: NcrontabSchedule;
  runOnStartup: boolean;
  useMonitor: boolean;
}

/**
 * Reads every timer trigger's schedule (resolving `%SETTING%`) and validates them all before anything runs. Every
 * problem is collected into ONE error, so a settings file is fixed in one round instead of one key per start.
 */
export function collectTimerTriggers(invoker: FunctionInvoker): TimerTrigger[] {
  const problems: string[] = [];
  const timeZone = process.env.WEBSITE_TIME_ZONE || 'UTC';
  let timeZoneOk = true;
  if (timeZone !== 'UTC') {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      timeZoneOk = false;
      problems.push(`WEBSITE_TIME_ZONE="${timeZone}" is not a time zone this runner knows: use an IANA name such as "Europe/Berlin" (as on Linux plans).`);
    }
  }
  const out: TimerTrigger[] = [];
  for (const [name, fn] of invoker.functions) {
    const b = Object.values(fn.metadata.bindings).find((x) => x.type === 'timerTrigger');
    if (!b) continue;
    try {
      if (typeof b.schedule !== 'string') throw new Error('it has no schedule.');
      const expression = resolveSettingRef(b.schedule, 'its schedule');
      if (!timeZoneOk) parseNcrontab(expression); // check the expression alone; the time zone is already reported
      else out.push({ name, schedule: parseNcrontab(expression, timeZone), runOnStartup: b.runOnStartup === true, useMonitor: b.useMonitor !== false });
    } catch (err) {
      problems.push(`Timer function '${name}': ${(err as Error).message}`);
    }
  }
  if (problems.length === 1) throw new Error(problems[0]);
  if (problems.length > 1) throw new Error(`${problems.length} timer settings are invalid, nothing was started: ${problems.map((p, i) => `(${i + 1}) ${p}`).join(' ')}`);
  return out;
}

/** Fires timer functions: on demand (`--once`, tests), on startup, and on their NCRONTAB schedule. */
export class TimerScheduler {
  private readonly handles = new Map<string, NodeJS.Timeout>();
  private readonly status: Record<string, { last?: string; next?: string }> = {};
  private stopped = false;

  constructor(
    private readonly triggers: TimerTrigger[],
    private readonly invoker: FunctionInvoker,
    private readonly logger: RunnerLogger,
    private readonly stateDir?: string,
  ) {
    const file = this.statusFile();
    if (file && existsSync(file)) {
      try {
        Object.assign(this.status, JSON.parse(readFileSync(file, 'utf8')));
      } catch {
        this.logger.system(`ignoring unreadable ${file}`);
      }
    }
  }

  /** Invokes the timer function once with the host's PascalCase Timer payload. */
  async fire(name: string, isPastDue = false): Promise<boolean> {
    const t = this.triggers.find((x) => x.name === name);
    if (!t) throw new Error(`No timer function named '${name}'.`);
    const now = new Date();
    const next = t.schedule.next(now);
    const payload = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: { Last: this.status[name]?.last ?? now.toISOString(), Next: next.toISOString(), LastUpdated: now.toISOString() },
      IsPastDue: isPastDue,
    };
    const result = await this.invoker.invoke({ functionName: name, trigger: { json: JSON.stringify(payload) }, reason: `Timer fired at ${now.toISOString()}` });
    this.status[name] = { last: now.toISOString(), next: next.toISOString() };
    this.saveStatus();
    return result.ok;
  }

  async fireAll(): Promise<void> {
    for (const t of this.triggers) await this.fire(t.name);
  }

  /**
   * Fires runOnStartup functions and occurrences the schedule monitor saw missed (with isPastDue, as the
   * host's ScheduleMonitor does), then, with `schedule`, keeps firing on the NCRONTAB schedule in real time.
   */
  start(opts: { startup: boolean; schedule: boolean }): void {
    for (const t of this.triggers) {
      const recordedNext = this.status[t.name]?.next;
      const pastDue = t.useMonitor && recordedNext !== undefined && Date.parse(recordedNext) < Date.now();
      if (opts.startup && (t.runOnStartup || pastDue)) {
        void this.fire(t.name, pastDue).catch((err: unknown) => this.logger.system(`timer '${t.name}' failed: ${(err as Error).message}`));
      }
      if (opts.schedule) this.arm(t);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.handles.values()) clearTimeout(h);
    this.handles.clear();
  }

  private arm(t: TimerTrigger): void {
    if (this.stopped) return;
    const next = t.schedule.next(new Date());
    this.status[t.name] = { ...this.status[t.name], next: next.toISOString() };
    this.saveStatus();
    const delay = Math.min(Math.max(0, next.getTime() - Date.now()), 2_147_483_647);
    const handle = setTimeout(() => {
      if (Date.now() < next.getTime()) return this.arm(t);
      // Late by more than a second (event loop stalled, machine slept): tell the function, as the host does.
      const pastDue = Date.now() - next.getTime() > 1000;
      void this.fire(t.name, pastDue)
        .catch((err: unknown) => this.logger.system(`timer '${t.name}' failed: ${(err as Error).message}`))
        .finally(() => this.arm(t));
    }, delay);
    this.handles.set(t.name, handle);
  }

  private statusFile(): string | undefined {
    return this.stateDir ? path.join(this.stateDir, 'timer-status.json') : undefined;
  }

  private saveStatus(): void {
    const file = this.statusFile();
    if (!file) return;
    writeFileSync(`${file}.tmp`, JSON.stringify(this.status));
    renameSync(`${file}.tmp`, file);
  }
}
