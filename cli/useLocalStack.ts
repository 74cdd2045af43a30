import type { CliArgs } from "./cliArgs";
import type { CliIo } from "./cliIo";
import { localStackFilePath, readLocalStackFile } from "./localStackFile";

/**
 * With no `--settings` and no settings in the environment (no `HSMS`), the CLI uses the running local stack
 * (`npm start`'s state file): its settings file and, unless `--app-url` is given, its runner URL. It says so on
 * stderr, so nobody wonders which stack a command talked to.
 */
export function useLocalStack<A extends Pick<CliArgs, "settingsFile" | "appUrl" | "appUrlGiven">>(args: A, io: CliIo, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): A {
  if (args.settingsFile !== undefined || (env["HSMS"] ?? "").trim() !== "") return args;
  const lookup = readLocalStackFile(localStackFilePath(env, cwd));
  if (lookup.found === "none") return args;
  if (lookup.found === "stopped") {
    io.err(`hsm-lifecycle: the local stack recorded in ${lookup.file} is not running; start it with "npm start", or pass --settings FILE.`);
    return args;
  }
  const { settingsFile, url } = lookup.stack;
  const appUrl = args.appUrlGiven ? args.appUrl : url;
  io.err(`hsm-lifecycle: using the local stack of ${lookup.file}: settings ${settingsFile}, app ${appUrl} (--settings FILE uses another).`);
  return { ...args, settingsFile, appUrl };
}
