/** The one durable-client call these helpers use (durable-functions' DurableClient fits). */
export interface StatusReader {
  getStatus(instanceId: string): Promise<{ runtimeStatus?: unknown } | undefined | null>;
}

/** The instance's runtime status, or undefined when no instance has that id (durable-functions throws on 404). */
export async function existingRun(client: StatusReader, instanceId: string): Promise<string | undefined> {
  try {
    const s = await client.getStatus(instanceId);
    return typeof s?.runtimeStatus === "string" ? s.runtimeStatus : undefined;
  } catch (e) {
    if (/\b404\b/.test((e as Error)?.message ?? "")) return undefined;
    throw e;
  }
}

/**
 * `base`, or `base-2`, `base-3`, … the first id no instance has: starting an id that exists in a final state
 * would REPLACE that run (durable's default), losing its status. Racing starters may pick the same id; the
 * lock they then contend for lets only one of them run it.
 */
export async function unusedRunId(client: StatusReader, base: string): Promise<string> {
  for (let n = 1; n < 100; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    if ((await existingRun(client, id)) === undefined) return id;
  }
  throw new Error(`[Conflict] 99 runs named ${base}… exist already. Fix: try again in a moment.`);
}

/** `20261123T094512.345Z`: a compact UTC stamp for run ids (durable ids allow no '/'). */
export function runStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "");
}
