/**
 * `hsm-lifecycle <command>`: the operator CLI. It reads the same app settings as the function app and talks
 * to the same HSMs, storage and function app, locally (the emulator stack) or in Azure.
 */
import { parseCliArgs, type CliArgs } from "./cliArgs";
import { createCliContext } from "./cliContext";
import { commandFailureExit } from "./commandFailureExit";
import { processIo, type CliIo } from "./cliIo";
import { errorText } from "../shared/errors/errorText";
import { backupCommand } from "./backupCommand";
import { drCommand } from "./drCommand";
import { drillCommand } from "./drillCommand";
import { evidenceCommand } from "./evidenceCommand";
import { planCommand } from "./planCommand";
import { rbacCommand } from "./rbacCommand";
import { reportCommand } from "./reportCommand";
import { rotateCommand } from "./rotateCommand";
import { decideCommand, disableCommand, emergencyRotateCommand, recoverCommand, requestsCommand } from "./requestCommands";
import { statusCommand } from "./statusCommand";
import { appAuditRetries } from "./appAuditRetries";
import { USAGE } from "./usage";
import { usageErrorExit } from "./usageError";
import { useLocalStack } from "./useLocalStack";

/** Runs one command line; resolves to the exit code (0 ok, 1 failed, 2 usage, 3 waiting for approvals). Never throws. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  if (argv[0] === "dr") return drCommand(argv.slice(1), io);
  if (argv[0] === "evidence") return evidenceCommand(argv.slice(1), io);
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    return usageErrorExit(e, io);
  }
  if (args.command === "help") {
    io.out(USAGE);
    return 0;
  }
  try {
    const run = useLocalStack({ ...args, command: args.command }, io);
    const ctx = createCliContext(run);
    switch (run.command) {
      case "status": {
        // Audit record retries live in durable, which only the app reads: asked when the app is known.
        const knowsApp = run.appUrlGiven || run.settingsFile !== args.settingsFile;
        return await statusCommand(knowsApp ? { ...ctx, auditRetries: appAuditRetries(run.appUrl, ctx.functionKeyFor) } : ctx, io, run.json, run.credential, run.check);
      }
      case "plan":
        return await planCommand(ctx, io, run.json);
      case "rotate":
        return run.now ? await emergencyRotateCommand(ctx, run, io) : await rotateCommand(ctx, run, io);
      case "recover":
        return await recoverCommand(ctx, run, io);
      case "disable":
        return await disableCommand(ctx, run, io);
      case "requests":
        return await requestsCommand(ctx, run, io);
      case "approve":
      case "reject":
        return await decideCommand(ctx, run, io);
      case "backup":
        return await backupCommand(ctx, run, io);
      case "drill":
        return await drillCommand(ctx, run, io);
      case "report":
        return await reportCommand(ctx, run, io);
      case "rbac":
        return await rbacCommand(ctx, run, io);
    }
  } catch (e) {
    return commandFailureExit(e, io, args.command);
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    // Exit explicitly: SDK keep-alive sockets and token-cache timers must not keep a finished command alive.
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`hsm-lifecycle: ${errorText(e)}\n`);
      process.exit(1);
    },
  );
}
