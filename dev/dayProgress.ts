/**
 * The workflows of the day as `npm start` shows them: live lines while they run, then a closing summary with
 * the drill report fetched to a local file a person can open. Everything comes from the runs' durable status
 * (dayLines), so a stack that already ran today shows that day's results at once.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import type { Runner } from "../runner/index";
import type { RestoreDrillOutput } from "../shared/drill/types";
import { dayLines, type DayLines } from "./dayLines";
import type { LocalStack } from "./localStack";
import { STACK_CONTAINERS } from "./stackSettings";
import type { StartView } from "./startView";
import { finishedRunKeys, utcDay } from "./todaysRuns";
import type { RunRecord } from "./workflowLines";

type Workflow = keyof DayLines["settled"];

export class DayProgress {
  private day = utcDay(new Date());
  private finishedBefore: ReadonlySet<string> = new Set();
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly stack: LocalStack,
    private readonly runner: Runner,
    private readonly view: StartView,
    /** Where fetched reports go (STATE/reports, or beside a temporary state dir). */
    private readonly keepDir: string,
    private readonly note: (line: string) => void,
  ) {}

  /** Call just before firing the timers: fixes the day and which runs had already finished. */
  begin(): void {
    this.day = utcDay(new Date());
    this.finishedBefore = finishedRunKeys(this.runner.host);
    this.show();
    this.ticker = setInterval(() => this.show(), 1000);
    this.ticker.unref();
  }

  current(): DayLines {
    return dayLines(this.runner.host, this.day, this.finishedBefore);
  }

  /**
   * Waits until today's runs of `workflow` have finished; a run that finished earlier today or a timer that
   * started nothing waits for nothing. Only a run really still going is waited for, at most `timeoutMs`.
   */
  async settle(workflow: Workflow, timeoutMs: number | undefined, otherwise: string): Promise<void> {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    while (!this.current().settled[workflow]) {
      if (Date.now() > deadline) {
        this.note(`${workflow} is still running after ${(timeoutMs ?? 0) / 1000} s; ${otherwise}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    this.show();
  }

  /** Shows the lines as they are now (also every second between calls, once begun). */
  show(): void {
    this.current().lines.forEach((l, i) => this.view.set(`${l.workflow}:${i}`, l.text));
  }

  /** Stops the live lines and prints the day's summary: each workflow, the report file, warnings, the log file. */
  async close(logFile: string | undefined): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    const d = this.current();
    this.view.clear();
    const states = d.lines.map((l) => l.state);
    const verdict = states.includes("failed") ? "FAILED" : states.every((s) => s === "done") ? "passed" : "not finished";
    this.note(`today's cycle (${this.day}): ${verdict}`);
    for (const l of d.lines) this.note(`  ${l.text}`);
    if (d.drill !== undefined) {
      const report = await this.fetchReport(d.drill);
      if (report !== undefined) this.note(`  report: ${report}`);
    }
    for (const l of d.lines) for (const w of l.warnings) this.note(`  warning: ${l.workflow}: ${w}`);
    if (logFile !== undefined) this.note(`  host and function logs: ${logFile}`);
  }

  /** The drill's HTML report, copied from the reports container to a local file (undefined: none yet). */
  private async fetchReport(drill: RunRecord): Promise<string | undefined> {
    const blob = (drill.output as Partial<RestoreDrillOutput> | null)?.reportHtml;
    if (drill.status !== "Completed" || typeof blob !== "string") return undefined;
    const container = this.stack.settings["DRILL_REPORTS_CONTAINER"] || STACK_CONTAINERS.drillReports;
    try {
      const html = await BlobServiceClient.fromConnectionString(this.stack.storageConnectionString).getContainerClient(container).getBlobClient(blob).downloadToBuffer();
      const dir = join(this.keepDir, "reports");
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${drill.instanceId.replace(/[^A-Za-z0-9._-]/g, "_")}.html`);
      writeFileSync(file, html);
      return file;
    } catch (e) {
      this.note(`  report: could not fetch ${container}/${blob} (${(e as Error).message.split("\n")[0] ?? ""}); "npx hsm-lifecycle report --html FILE" saves it`);
      return undefined;
    }
  }
}
