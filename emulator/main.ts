/**
 * CLI: `node dist/emulator/main.js [--state-dir DIR] [--hsm NAME=PORT[,security-domain=OTHER]]...
 *   [--vault NAME=PORT]... [--topic NAME=PORT]... [--blob CONN] [--admin OID]...
 *   [--restore-backup-window-minutes N] [--subscribe SOURCE=URL[,types=T1;T2]]... [--identity PORT [--identity-default-oid OID] [--managed-identity CLIENT_ID]...]
 *   [--azure-host-names] [--capacity [--partitions 1..3] [--time-scale N] [--queue-limit N]]`
 * prints one JSON ready line on stdout; logs go to stderr; SIGTERM/SIGINT close cleanly.
 * `node dist/emulator/main.js token --state-dir DIR --oid OID [--audience managedhsm|vault]` prints a token.
 * Bad flags: message on stderr, exit 2.
 */
import { signToken, ensureTokenSecret } from "./auth/tokens";
import { parseCli, UsageError } from "./options";
import { startEmulator } from "./server";

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`hsm-emulator: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (parsed.command === "token" && parsed.token !== undefined) {
    const { secret } = ensureTokenSecret(parsed.options.stateDir);
    const t = parsed.token;
    process.stdout.write((await signToken(secret, { oid: t.oid, aud: t.audience, ...(t.expiresInSeconds !== undefined ? { expiresInSeconds: t.expiresInSeconds } : {}) })).token + "\n");
    return;
  }
  if (parsed.options.instances.length === 0) process.stderr.write("hsm-emulator: no --hsm or --vault given; only the token secret and CA are prepared.\n");
  const emulator = await startEmulator(parsed.options);
  process.stdout.write(JSON.stringify(emulator.readyLine()) + "\n");
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`hsm-emulator: ${signal} received, closing\n`);
    emulator.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`hsm-emulator: close failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((e: unknown) => {
  process.stderr.write(`hsm-emulator: ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
});
