import type { InvocationContext } from "@azure/functions";
import { returningPermanentFailures, type PermanentFailure } from "../errors/permanentFailure";
import { redactSecrets } from "../errors/redactSecrets";

/**
 * An activity handler for registration whose permanent failures (missing role, bad parameter, conflict…) come
 * back as values, so durable does not retry them for half a minute; orchestrations read them with
 * `callActivity`. The host then records the call as completed, so the failure is logged here, by name.
 */
export function settlePermanentFailures<O>(
  name: string,
  handler: (input: unknown, context: InvocationContext) => Promise<O>,
): (input: unknown, context: InvocationContext) => Promise<O | PermanentFailure> {
  return (input, context) =>
    returningPermanentFailures(handler, (f) => context.warn(redactSecrets(`${name} failed: ${f.message} (not retried: another try cannot change a [${f.code}])`)))(input, context);
}
