/**
 * Long-running-operation pollers for Managed HSM admin jobs (full backup, restore, selective key restore,
 * pre-checks), built on `@azure/core-lro` 2.7.2's `createHttpPoller` the way keyvault-admin's shim does.
 *
 * The service answers the start request with 202 + `Azure-AsyncOperation: <hsm>/{backup|restore}/{jobId}/pending`
 * and a job body; core-lro polls that URL until `status` is Succeeded/Failed/Canceled.
 *
 * Resume tokens are core-lro's serialised state (`{"state":{…,"config":{"operationLocation":…}}}`), so a
 * token from `poller.toString()` and one built from a job id by {@link adminJobResumeToken} are the same thing:
 * a durable orchestration that only kept the job id can follow the job from any process.
 */
import { createHttpPoller, type LongRunningOperation, type LroResponse, type OperationState } from "@azure/core-lro";
import { isRecord, type AdminPipeline, type AdminResponse } from "./adminPipeline.js";
import type {
  KeyVaultAdminPollOperationState,
  KeyVaultBeginBackupOptions,
  PollerLike,
} from "./keyVaultBackupClientModels.js";

/** The job body on the wire (FullBackupOperation / RestoreOperation / SelectiveKeyRestoreOperation). */
export interface AdminJobWire {
  status?: string | null;
  statusDetails?: string | null;
  error?: { code?: string | null; message?: string | null } | null;
  startTime?: number | null;
  endTime?: number | null;
  jobId?: string | null;
  azureStorageBlobContainerUri?: string | null;
}

/** Which status endpoint a job is polled at. */
export type AdminJobKind = "backup" | "restore";

type CoreState = OperationState<AdminJobWire> & {
  /** Last job body seen (initial response or latest poll); kept in the resume token. */
  job?: AdminJobWire;
  config?: { operationLocation?: string };
};

/**
 * A resume token for a job known only by id, e.g. `adminJobResumeToken(hsmUrl, "backup", jobId)`.
 * Selective key restores and pre-restores are polled at `restore`, pre-backups at `backup`.
 */
export function adminJobResumeToken(vaultUrl: string, kind: AdminJobKind, jobId: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(jobId)) {
    throw new Error(`'${jobId}' is not a job id (expected the hex id the service returned in jobId).`);
  }
  const operationLocation = `${vaultUrl.replace(/\/+$/, "")}/${kind}/${jobId}/pending`;
  return JSON.stringify({
    state: { status: "running", config: { operationLocation, metadata: { mode: "OperationLocation" } } },
  });
}

export interface CreateAdminPollerArgs<TResult> {
  pipeline: AdminPipeline;
  method: "POST" | "PUT";
  path: string;
  body: unknown;
  options: KeyVaultBeginBackupOptions;
  toResult: (job: AdminJobWire) => TResult;
}

export async function createAdminPoller<TResult>(
  args: CreateAdminPollerArgs<TResult>,
): Promise<PollerLike<KeyVaultAdminPollOperationState<TResult>, TResult>> {
  const { pipeline, options, toResult } = args;
  let initialJob: AdminJobWire | undefined;

  const lro: LongRunningOperation<AdminJobWire> = {
    // requestPath is left out on purpose: for a PUT core-lro would otherwise make a final GET on the
    // request path (`/restore`) after success, which the service does not serve (keyvault-admin's shim
    // strips the same resource location).
    requestMethod: args.method,
    sendInitialRequest: async () => {
      const response = await pipeline.send<AdminJobWire>({
        method: args.method,
        pathOrUrl: args.path,
        body: args.body,
        expectedStatuses: [200, 202],
        abortSignal: options.abortSignal,
      });
      initialJob = response.body;
      return toLroResponse(response);
    },
    sendPollRequest: async (url, pollOptions) =>
      toLroResponse(
        await pipeline.send<AdminJobWire>({
          method: "GET",
          pathOrUrl: url,
          expectedStatuses: [200],
          abortSignal: (pollOptions?.abortSignal as AbortSignal | undefined) ?? options.abortSignal,
        }),
      ),
  };

  const core = await createHttpPoller<AdminJobWire, CoreState>(lro, {
    intervalInMs: options.intervalInMs ?? options.updateIntervalInMs,
    restoreFrom: options.resumeFrom,
    updateState: (state, response) => {
      if (isRecord(response.flatResponse)) state.job = response.flatResponse as AdminJobWire;
    },
  });
  const coreState = core.getOperationState();
  if (initialJob && !coreState.job) coreState.job = initialJob;

  const publicState = (): KeyVaultAdminPollOperationState<TResult> => {
    const state = core.getOperationState();
    const job = state.result ?? state.job ?? {};
    const done = ["succeeded", "failed", "canceled"].includes(state.status);
    return {
      jobId: job.jobId ?? jobIdFromLocation(state.config?.operationLocation),
      status: job.status ?? state.status,
      error: state.error ?? undefined,
      result: state.result ? toResult(state.result) : undefined,
      statusDetails: job.statusDetails ?? undefined,
      startTime: toDate(job.startTime),
      endTime: toDate(job.endTime),
      isStarted: state.status !== "notStarted",
      isCompleted: done,
    };
  };

  return {
    isDone: () => core.isDone(),
    isStopped: () => core.isStopped(),
    getOperationState: publicState,
    getResult: () => {
      const result = core.getResult();
      return result ? toResult(result) : undefined;
    },
    poll: (pollOptions) => core.poll(pollOptions),
    pollUntilDone: async (pollOptions) => toResult(await core.pollUntilDone(pollOptions)),
    onProgress: (callback) => core.onProgress(() => callback(publicState())),
    toString: () => core.toString(),
    stopPolling: () => core.stopPolling(),
  };
}

function toLroResponse(response: AdminResponse<AdminJobWire>): LroResponse<AdminJobWire> {
  return {
    flatResponse: response.body,
    rawResponse: { statusCode: response.status, headers: response.headers, body: response.body },
  };
}

/** Unix seconds → Date; the service sends `null` or `0` while a job runs. */
export function toDate(seconds: number | null | undefined): Date | undefined {
  return typeof seconds === "number" && seconds > 0 ? new Date(seconds * 1000) : undefined;
}

function jobIdFromLocation(location: string | undefined): string | undefined {
  const match = location ? /\/(?:backup|restore)\/([^/?]+)\/pending/.exec(location) : null;
  return match?.[1];
}
