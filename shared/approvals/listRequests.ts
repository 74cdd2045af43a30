import { forEachLimited } from "../app/forEachLimited";
import { isInstanceNotFound } from "../rotation/activities/durableStatus";
import { requestViewOf } from "./requestView";
import type { RequestIndex, RequestIndexEntry } from "./requestIndex";
import type { RequestView } from "./requestTypes";

/** `GET /api/requests` shows finished requests created in this many days; pending ones whatever their age. */
export const REQUEST_LIST_DAYS = 30;
/** Finished requests shown at most (newest first); pending ones are never cut. */
export const FINISHED_LIST_LIMIT = 500;
/** Durable status reads in flight at once. */
const STATUS_READS = 8;

const FINAL = new Set<string>(["rejected", "expired", "completed", "failed"]);

/** What the listing needs of the durable client: one instance's status. */
export interface RequestStatusReader {
  getStatus(instanceId: string, options: { showInput: boolean }): Promise<{ name?: string; runtimeStatus?: string; customStatus?: unknown; input?: unknown } | undefined | null>;
}

/**
 * The requests `GET /api/requests` shows, newest first: every request not yet closed (pending or running, whatever
 * its age) and those closed in the last REQUEST_LIST_DAYS days (at most FINISHED_LIST_LIMIT). Reads the index and
 * then asks durable for exactly those request ids, never for any other instance; an indexed id durable does not
 * know (its start failed after the index entry was written, or it was purged) is left out.
 */
export async function listRequests(index: RequestIndex, durable: RequestStatusReader, now: Date): Promise<RequestView[]> {
  const from = now.getTime() - REQUEST_LIST_DAYS * 86_400_000;
  const newestFirst = (a: RequestIndexEntry, b: RequestIndexEntry): number => b.createdAt.getTime() - a.createdAt.getTime() || b.request.localeCompare(a.request);
  const entries = (await index.list()).sort(newestFirst);
  const open = entries.filter((e) => !e.closed);
  const recentClosed = entries.filter((e) => e.closed && e.createdAt.getTime() >= from).slice(0, FINISHED_LIST_LIMIT);
  const wanted = [...open, ...recentClosed];
  const views = new Map<string, RequestView>();
  await forEachLimited(wanted, STATUS_READS, async (entry) => {
    let status: Awaited<ReturnType<RequestStatusReader["getStatus"]>>;
    try {
      status = await durable.getStatus(entry.request, { showInput: true });
    } catch (e) {
      if (isInstanceNotFound(e)) return;
      throw e;
    }
    const view = requestViewOf(status ?? undefined);
    // An open entry whose request ended without its closing entry (a crash, or the entry's write failed) is shown
    // as a finished one: only within the window.
    if (view === undefined || view.request !== entry.request || (FINAL.has(view.status) && entry.createdAt.getTime() < from)) return;
    views.set(entry.request, view);
  });
  return [...views.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
