import { InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import type { DurableClient } from "durable-functions";

/**
 * The real DurableClient, wired the way `df.getClient(context)` is inside a function: a context whose options list
 * a durableClient input and whose extraInputs hold the runner's OrchestrationClientInputData.
 */
export function durableClientFor(clientData: Record<string, unknown>): DurableClient {
  const input = df.input.durableClient();
  const context = new InvocationContext({
    functionName: "test",
    options: { trigger: { type: "httpTrigger", name: "req" }, extraInputs: [input], extraOutputs: [] },
  });
  context.extraInputs.set(input, clientData);
  return df.getClient(context);
}
