/**
 * Deploying while orchestrations run: each fixture is the history of a real instance (captured from the app on
 * the runner by `npm run replay:capture`) stopped where instances wait for hours or days. Replaying it with the
 * CURRENT orchestrator code, as Azure does after a deploy, must raise no non-determinism error and ask for exactly
 * the actions it asked for when captured (kinds, names, order, timer fire times; inputs are not compared, see
 * dev/replay/replayFixture.ts), and the instance must go on when the event it waits for arrives.
 * Needs `npx tsc -p tsconfig.json` first (the app is loaded from dist/functions, as the runner does). No server starts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadReplayInvoker, replayFixture, type ReplayFixture } from "../../dev/replay/replayFixture";
import { EventType, type FunctionInvoker, type HistoryEvent } from "../../runner/index";
import { orchestrationNames } from "../../shared/names";
import { repoRoot } from "../../dev/repoRoot";

const dir = join(__dirname, "fixtures");
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((file) => ({ file, fixture: JSON.parse(readFileSync(join(dir, file), "utf8")) as ReplayFixture }));

/** App sources whose compiled file in dist/ is missing or older: replaying dist/ would test old code. */
function staleBuilds(root: string): string[] {
  const sources: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) sources.push(p);
    }
  };
  walk(join(root, "shared"));
  walk(join(root, "functions"));
  return sources.filter((src) => {
    const built = join(root, "dist", relative(root, src)).replace(/\.ts$/, ".js");
    return !existsSync(built) || statSync(built).mtimeMs < statSync(src).mtimeMs;
  });
}

let invoker: FunctionInvoker;
beforeAll(async () => {
  const root = repoRoot();
  const stale = staleBuilds(root);
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.map((s) => relative(root, s)).join(", ")}: build first (npx tsc -p tsconfig.json), the replay runs the compiled app.`);
  invoker = await loadReplayInvoker(root);
}, 60_000);

/** The long-waiting orchestrations: each must have at least one fixture, so a new one cannot be forgotten silently. */
const mustHaveFixtures = [
  orchestrationNames.rotateKey,
  orchestrationNames.retireVersions,
  orchestrationNames.operationRequest,
  orchestrationNames.hsmBackup,
  orchestrationNames.restoreDrill,
  orchestrationNames.selectiveRestoreDrill,
  orchestrationNames.auditRecordRetry,
];

describe("replay compatibility of in-flight orchestrations", () => {
  it("has fixtures for every long-waiting orchestration", () => {
    const have = new Set(fixtures.map((f) => f.fixture.orchestrator));
    expect(mustHaveFixtures.filter((n) => !have.has(n))).toEqual([]);
  });

  describe.each(fixtures.map((f) => [f.file, f.fixture] as const))("%s", (_file, fixture) => {
    it(`${fixture.orchestrator}: ${fixture.title} replays with the current code and asks for the same actions`, async () => {
      const result = await replayFixture(invoker, fixture);
      expect(result.problem).toBeUndefined();
      expect(result.observed.actions).toEqual(fixture.expected.actions);
      expect(result.observed.pending).toEqual(fixture.expected.pending);
      expect(result.newWork).toBe(0);
    });

    const timer = fixture.expected.pending.find((p) => p.kind === "timer");
    if (timer !== undefined && timer.kind === "timer") {
      it(`${fixture.orchestrator}: ${fixture.title} goes on when its timer fires`, async () => {
        const fired: HistoryEvent = { EventType: EventType.TimerFired, EventId: -1, IsPlayed: false, Timestamp: timer.fireAt, TimerId: timer.id, FireAt: timer.fireAt };
        const result = await replayFixture(invoker, fixture, [fired]);
        expect(result.problem).toBeUndefined();
        // The fired timer is no longer pending and the orchestration asked for its next step (or finished).
        expect(result.observed.pending).not.toContainEqual(timer);
        expect(result.newWork > 0 || result.done).toBe(true);
      });
    }
  });
});

describe("the check catches breaking changes", () => {
  const sample = fixtures.find((f) => f.fixture.history.some((e) => e.EventType === EventType.TaskScheduled))?.fixture;

  it("an activity renamed in flight is a non-determinism error", async () => {
    expect(sample).toBeDefined();
    const history = structuredClone(sample!.history);
    const scheduled = history.find((e) => e.EventType === EventType.TaskScheduled)!;
    scheduled.Name = `${scheduled.Name}Renamed`;
    const result = await replayFixture(invoker, { ...sample!, history });
    expect(result.problem).toMatch(/Non-deterministic workflow detected/);
  });

  it("a yield moved in flight (a timer where an activity was) is a non-determinism error", async () => {
    const history = structuredClone(sample!.history);
    const scheduled = history.find((e) => e.EventType === EventType.TaskScheduled)!;
    scheduled.EventType = EventType.TimerCreated;
    scheduled.FireAt = scheduled.Timestamp;
    const result = await replayFixture(invoker, { ...sample!, history });
    expect(result.problem).toMatch(/Non-deterministic workflow detected/);
  });
});
