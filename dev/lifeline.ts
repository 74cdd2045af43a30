/**
 * `node dist/dev/lifeline.js SCRIPT [ARGS...]` runs SCRIPT in this same process (same pid, argv as if it had
 * been started directly) and ties its life to the parent: the parent holds our stdin pipe open and never
 * writes to it, so when the parent dies in ANY way — including SIGKILL, which no exit handler sees — the pipe
 * ends and we SIGTERM ourselves (SCRIPT's own graceful shutdown), then SIGKILL after a grace period.
 * The local stack starts Azurite and the emulator through it, so a crashed or killed `npm start` or test
 * worker never leaves them behind.
 */
import { resolve } from "node:path";

const GRACE_MS = 5_000;

function main(): void {
  const script = process.argv[2];
  if (script === undefined) {
    process.stderr.write("lifeline: usage: node lifeline.js SCRIPT [ARGS...]\n");
    process.exit(2);
  }
  const onParentGone = (): void => {
    process.kill(process.pid, "SIGTERM");
    setTimeout(() => process.kill(process.pid, "SIGKILL"), GRACE_MS).unref();
  };
  process.stdin.on("end", onParentGone);
  process.stdin.on("error", onParentGone);
  process.stdin.resume();
  // The pipe must not keep the script alive after its own shutdown finished.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
  const target = resolve(script);
  process.argv = [process.argv[0] as string, target, ...process.argv.slice(3)];
  require(target);
}

main();
