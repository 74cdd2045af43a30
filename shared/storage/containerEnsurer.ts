import type { ContainerClient } from "@azure/storage-blob";

/**
 * Creates the container at most once per client, before the first write (locally it may not exist yet). A 403 is
 * tolerated: the identity holds a container-scoped role (no container create) and the deployment made the
 * container; the write after it names the cause if it does not exist after all. Another failure is thrown and the
 * next call tries again.
 */
export function containerEnsurer(container: ContainerClient): () => Promise<void> {
  let ensured: Promise<void> | undefined;
  return () => {
    ensured ??= container.createIfNotExists().then(
      () => undefined,
      (e: unknown) => {
        if ((e as { statusCode?: number }).statusCode === 403) return;
        ensured = undefined;
        throw e;
      },
    );
    return ensured;
  };
}
