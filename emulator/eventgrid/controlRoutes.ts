import type { DeliveryEngine } from "./deliveryEngine";
import type { DeliveryPolicy } from "./deliveryPolicy";
import type { SubscriptionSpec } from "./subscriptionSpec";

export interface ControlResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Prefix of the Event Grid control routes; mounted under `/_emulator/` on every emulator listener. */
export const EVENTGRID_CONTROL_PREFIX = "/_emulator/eventgrid";

const error = (status: number, code: string, message: string): ControlResponse => ({ status, body: { error: { code, message } } });

/**
 * Non-Azure control API for subscriptions (Azure manages them through ARM, which the emulator has not):
 *   GET    /_emulator/eventgrid/subscriptions                 list, with provisioningState
 *   PUT    /_emulator/eventgrid/subscriptions/{name}          create/replace: {source, endpoint, includedEventTypes?, deliverySchema?, deadLetterContainer?, duplicates?}
 *   GET    /_emulator/eventgrid/subscriptions/{name}          one subscription
 *   DELETE /_emulator/eventgrid/subscriptions/{name}
 *   POST   /_emulator/eventgrid/subscriptions/{name}/duplicates   {count}: extra copies of each event from now on
 *   GET    /_emulator/eventgrid/deliveries                    delivery attempts log
 *   GET    /_emulator/eventgrid/deadletters                   dead-lettered / dropped events
 *   GET|PUT /_emulator/eventgrid/policy                       retry policy (PUT merges the given fields)
 * Returns undefined when the path is not an Event Grid control route.
 */
export function handleEventGridControl(engine: DeliveryEngine, method: string, pathname: string, rawBody: string): ControlResponse | undefined {
  if (!pathname.startsWith(EVENTGRID_CONTROL_PREFIX)) return undefined;
  const parts = pathname.slice(EVENTGRID_CONTROL_PREFIX.length).split("/").filter((p) => p !== "").map(decodeURIComponent);
  let body: Record<string, unknown> = {};
  if (rawBody.trim() !== "") {
    try {
      const parsed: unknown = JSON.parse(rawBody);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return error(400, "BadParameter", "The request body must be a JSON object.");
      body = parsed as Record<string, unknown>;
    } catch {
      return error(400, "BadParameter", "The request body is not valid JSON.");
    }
  }
  try {
    const [resource, name, action] = parts;
    if (resource === "subscriptions" && name === undefined && method === "GET") return { status: 200, body: { value: engine.listSubscriptions() } };
    if (resource === "subscriptions" && name !== undefined && action === undefined) {
      if (method === "GET") {
        const view = engine.getSubscription(name);
        return view ? { status: 200, body: view } : error(404, "NotFound", `Subscription "${name}" does not exist.`);
      }
      if (method === "PUT") {
        const spec = { ...body, name } as unknown as SubscriptionSpec;
        return { status: 201, body: engine.addSubscription(spec) };
      }
      if (method === "DELETE") {
        return engine.removeSubscription(name) ? { status: 200, body: {} } : error(404, "NotFound", `Subscription "${name}" does not exist.`);
      }
    }
    if (resource === "subscriptions" && name !== undefined && action === "duplicates" && method === "POST") {
      const count = body["count"];
      if (typeof count !== "number") return error(400, "BadParameter", 'Send {"count": N} with N from 0 to 10.');
      return { status: 200, body: engine.setDuplicates(name, count) };
    }
    if (resource === "deliveries" && method === "GET") return { status: 200, body: { value: engine.deliveries() } };
    if (resource === "deadletters" && method === "GET") return { status: 200, body: { value: engine.deadLettered() } };
    if (resource === "policy" && method === "GET") return { status: 200, body: engine.getPolicy() };
    if (resource === "policy" && method === "PUT") return { status: 200, body: engine.setPolicy(body as Partial<DeliveryPolicy>) };
  } catch (caught) {
    // Spec validation errors: nothing was changed.
    return error(400, "BadParameter", (caught as Error).message);
  }
  return error(404, "NotFound", `No Event Grid control route ${method} ${pathname}.`);
}
