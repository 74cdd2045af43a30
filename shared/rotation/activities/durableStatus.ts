/**
 * The two durable-client calls the rotation starters need, typed narrowly so tests and the bench can pass
 * the real `DurableClient` (or anything with the same two methods).
 */
export interface RotationStarterClient {
  getStatus(instanceId: string): Promise<{ runtimeStatus?: string; output?: unknown }>;
  startNew(orchestrationName: string, options: { instanceId: string; input: unknown }): Promise<string>;
}

/** The instance's status, or undefined when durable has no such instance (durable-functions 3 throws on 404). */
export async function readInstanceStatus(client: RotationStarterClient, instanceId: string): Promise<{ runtimeStatus?: string; output?: unknown } | undefined> {
  try {
    const status = await client.getStatus(instanceId);
    return { runtimeStatus: String(status.runtimeStatus), output: status.output };
  } catch (e) {
    if (isInstanceNotFound(e)) return undefined;
    throw e;
  }
}

/** True when `getStatus` failed because durable has no such instance (durable-functions 3 throws on its 404). */
export function isInstanceNotFound(e: unknown): boolean {
  return /HTTP 404/.test((e as Error)?.message ?? "");
}

/** True when `startNew` lost a race to another starter of the same id (409: instance already running). */
export function isAlreadyStarted(e: unknown): boolean {
  // durable-functions 3.5 rejects with "The operation failed with an unexpected status code: 409. Details: …".
  return /status code: 409\b|already exists/i.test((e as Error).message ?? "");
}
