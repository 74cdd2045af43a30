/**
 * Soak bench: a year (or `--days N`) of unattended operation on the local stack, time-compressed by the
 * emulator's clock and the runner's virtual time (dev/soak/soakSimulation.ts, the same core as the soak test):
 * nightly backups, daily sweeps and re-verifications, weekly full drills, concurrent manual requests, one storage
 * outage night and one backup altered in storage before its re-verification and drill.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/soak.js [--days 365] [--verbose]
 *
 * Prints one JSON line: `nights`, `verifiedBackups`, `drillsPassed`, `drillsFailed`, `orphanFolders`,
 * `deletedWhileReferenced`, `wallMs`, plus `integrityFailuresCaught`, `outageNight`, `tamperedDrill` (the altered
 * backup's drill: verdict, the backup it restored, the ones it passed over), `retentionMatches` (the manifests left
 * equal the daily/weekly/monthly set computed independently) and `copiesMatchRetention` (the copy container holds copies of exactly those backups).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack } from "../dev/localStack";
import { runSoak, soakStackOptions } from "../dev/soak/soakSimulation";

function daysArg(): number {
  const i = process.argv.indexOf("--days");
  if (i === -1) return 365;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1 || v > 3650) throw new Error(`--days needs a whole number of days from 1 to 3650; got "${process.argv[i + 1] ?? ""}".`);
  return v;
}

async function main(): Promise<void> {
  const days = daysArg();
  const verbose = process.argv.includes("--verbose");
  const stateDir = mkdtempSync(join(tmpdir(), "soak-bench-"));
  const stack = await startLocalStack({ stateDir, ...soakStackOptions() });
  try {
    // The outage a third of the way in; the altered backup on a drill night two thirds in (nights 6, 13, … drill).
    const outageNight = days > 3 ? Math.floor(days / 3) : -1;
    const tamperNight = days >= 14 ? Math.floor((2 * days) / 3 / 7) * 7 + 6 : -1;
    const result = await runSoak(stack, { days, outageNight, tamperNight, ...(verbose ? { log: (l: string) => process.stderr.write(`${l}\n`) } : {}) });
    const { log, retention, tampered, copies, ...counts } = result;
    const outage = log[outageNight]?.backup;
    console.log(
      JSON.stringify({
        ...counts,
        outageNight: outage === undefined ? null : { night: outageNight, ...outage, ...(outage.outcome === "failed" ? { cause: outage.cause.slice(0, 200) } : {}) },
        tamperedDrill: tampered?.drill === undefined ? null : { altered: tampered.folder, verdict: tampered.drill.verdict, restored: tampered.drill.backupFolder ?? null, rejected: tampered.drill.rejected, failures: tampered.drill.failures.map((f) => f.slice(0, 200)) },
        retentionMatches: JSON.stringify(retention.actual) === JSON.stringify(retention.expected),
        copiesMatchRetention: copies === undefined ? null : JSON.stringify(copies) === JSON.stringify(retention.actual),
      }),
    );
  } finally {
    await stack.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`soak: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
