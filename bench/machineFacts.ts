import { availableParallelism, loadavg } from "node:os";

/** What a bench's JSON line says about the machine it ran on, so runs on a busy and on a quiet machine can be told apart. */
export function machineFacts(): { cpus: number; loadAverage1m: number; node: string } {
  return { cpus: availableParallelism(), loadAverage1m: Number((loadavg()[0] ?? 0).toFixed(2)), node: process.version };
}
