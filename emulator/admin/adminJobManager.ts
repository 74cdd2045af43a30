/**
 * Runs and remembers the admin jobs of one HSM.
 *
 * - One job at a time per HSM (the service's documented limit): starting a second answers 409 Conflict
 *   naming the running job.
 * - Jobs persist in the state dir (atomic JSON file), so their status survives an emulator restart; a
 *   job that was InProgress when the emulator stopped can never finish, so on load it ends Failed with a
 *   message saying so.
 * - Remembers when this HSM last completed a full backup of itself (the restore precondition).
 */
import { randomUUID } from "node:crypto";
import { keyVaultErrors } from "../errors";
import { AtomicJsonFile } from "../store/atomicJsonFile";
import { statusCollection, type AdminJob, type AdminJobKind } from "./adminJob";

/** A job failure with the cause and the fix, reported as statusDetails (and error.code/message). */
export class AdminJobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "AdminJobFailure";
  }
}

export interface AdminJobOutcome {
  azureStorageBlobContainerUri?: string;
  /** What a successful job reports (the service's selective restore counts restored and kept versions). */
  statusDetails?: string;
}

interface PersistedJobs {
  jobs: AdminJob[];
  lastBackupCompletedAt: number | null;
}

const MAX_KEPT_JOBS = 200;

/** The HSM-wide single job slot (Instance.acquireJobLock/releaseJobLock), shared with other modules. */
export interface JobLock {
  acquire(id: string, kind: string): boolean;
  release(id: string): void;
  /** The job holding the slot, if any. */
  holder(): { id: string; kind: string } | undefined;
}

export interface AdminJobManagerOptions {
  /** JSON file for job state; in-memory only when undefined. */
  file?: string;
  /** The instance's job slot; a private one when omitted. */
  lock?: JobLock;
  /** Emulator time in unix seconds (the instance clock, so clock shifts apply to the backup window). */
  nowSeconds: () => number;
}

export class AdminJobManager {
  private state: PersistedJobs = { jobs: [], lastBackupCompletedAt: null };
  private readonly store: AtomicJsonFile<PersistedJobs> | undefined;
  private current: { job: AdminJob; done: Promise<void> } | undefined;
  private readonly lock: JobLock;
  private readonly endListeners: ((job: AdminJob) => void)[] = [];

  constructor(private readonly options: AdminJobManagerOptions) {
    let held: { id: string; kind: string } | undefined;
    this.lock = options.lock ?? {
      acquire: (id, kind) => (held ? false : ((held = { id, kind }), true)),
      release: (id) => {
        if (held?.id === id) held = undefined;
      },
      holder: () => held,
    };
    this.store = options.file ? new AtomicJsonFile(options.file, () => this.state) : undefined;
    const loaded = this.store?.read();
    if (loaded) {
      this.state = { jobs: Array.isArray(loaded.jobs) ? loaded.jobs : [], lastBackupCompletedAt: loaded.lastBackupCompletedAt ?? null };
      let interrupted = false;
      for (const job of this.state.jobs) {
        if (job.status === "InProgress") {
          interrupted = true;
          job.status = "Failed";
          job.errorCode = "JobInterrupted";
          job.statusDetails =
            `The emulator stopped while this ${job.kind} job was running, so it did not complete and changed nothing ` +
            `(a restore replaces state only in one final step). Start the ${job.kind} again.`;
          job.endTime = options.nowSeconds();
        }
      }
      if (interrupted) void this.persist();
    }
  }

  /** Called once per job when it becomes Succeeded or Failed (audit). */
  onJobEnd(listener: (job: AdminJob) => void): void {
    this.endListeners.push(listener);
  }

  get(jobId: string): AdminJob | undefined {
    return this.state.jobs.find((j) => j.jobId === jobId);
  }

  running(): AdminJob | undefined {
    return this.current?.job;
  }

  /** Unix seconds when this HSM last completed a full backup, or null. */
  lastBackupCompletedAt(): number | null {
    return this.state.lastBackupCompletedAt;
  }

  /** Resolves when no job is running (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.current) await this.current.done;
  }

  /**
   * Registers a job and runs `work` in the background. Throws 409 Conflict if a job is running.
   * The returned job object is live: read it for the initial 202 body.
   */
  start(
    kind: AdminJobKind,
    startedBy: string,
    details: { keyName?: string; folder?: string },
    work: (job: AdminJob) => Promise<AdminJobOutcome>,
  ): AdminJob {
    const jobId = randomUUID().replace(/-/g, "");
    if (!this.lock.acquire(jobId, kind)) {
      const holder = this.lock.holder();
      const running = holder ? this.get(holder.id) : undefined;
      const what = running
        ? `${running.kind} job ${running.jobId} (started ${new Date(running.startTime * 1000).toISOString()}; poll GET /${statusCollection(running.kind)}/${running.jobId}/pending)`
        : `${holder?.kind ?? "admin"} job ${holder?.id ?? "(unknown)"}`;
      throw keyVaultErrors.conflict(
        `Another admin job is running on this HSM: ${what}. Only one backup or restore runs at a time per HSM; wait until it completes and retry.`,
      );
    }
    const job: AdminJob = {
      jobId,
      kind,
      status: "InProgress",
      statusDetails: null,
      errorCode: null,
      startTime: this.options.nowSeconds(),
      endTime: null,
      azureStorageBlobContainerUri: null,
      startedBy,
      ...details,
    };
    this.state.jobs.push(job);
    if (this.state.jobs.length > MAX_KEPT_JOBS) this.state.jobs.splice(0, this.state.jobs.length - MAX_KEPT_JOBS);
    // Persist before running so a crash mid-job is detected on restart.
    const persisted = this.persist();
    // The slot is freed in the same synchronous step that makes the job terminal, so a client that sees
    // Succeeded/Failed can start the next job at once.
    const finish = (): void => {
      job.endTime = this.options.nowSeconds();
      this.lock.release(jobId);
      if (this.current?.job === job) this.current = undefined;
      for (const listener of this.endListeners) {
        try {
          listener(job);
        } catch {
          // A listener (audit) must never change the job's outcome.
        }
      }
    };
    // A failed first save must not strand the job (and the slot): the job runs regardless.
    const done = persisted
      .catch(() => undefined)
      .then(() => work(job))
      .then(
        (outcome) => {
          job.status = "Succeeded";
          job.azureStorageBlobContainerUri = outcome.azureStorageBlobContainerUri ?? null;
          if (outcome.statusDetails !== undefined) job.statusDetails = outcome.statusDetails;
          if (kind === "backup") this.state.lastBackupCompletedAt = this.options.nowSeconds();
          finish();
        },
        (error: unknown) => {
          job.status = "Failed";
          if (error instanceof AdminJobFailure) {
            job.errorCode = error.code;
            job.statusDetails = error.message;
          } else {
            job.errorCode = "InternalError";
            job.statusDetails = `The ${kind} job failed unexpectedly: ${(error as Error)?.message ?? String(error)}`;
          }
          finish();
        },
      )
      .then(() => this.persist())
      .catch(() => undefined);
    this.current = { job, done };
    return job;
  }

  private persist(): Promise<void> {
    return this.store ? this.store.save() : Promise.resolve();
  }
}
