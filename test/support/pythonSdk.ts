/**
 * Runs test/python/azure_sdk_client.py with Debian's Azure SDK for Python (python3-azure), the second,
 * independent client of the emulator.
 *
 *   const python = findAzurePython();            // undefined when no interpreter can import the SDK
 *   const observations = await runPythonScenario(python, { scenario: "keys", ... }, { IDENTITY_ENDPOINT: ... });
 *
 * Debian installs the SDK for its own interpreter (/usr/bin/python3); a `python3` earlier on PATH (pyenv, venv)
 * may not see it, so `PYTHON`, then /usr/bin/python3, then `python3` are tried.
 */
import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";

export const PYTHON_CLIENT_SCRIPT = resolve(__dirname, "../python/azure_sdk_client.py");
export const INSTALL_HINT = "Debian's Azure SDK for Python is missing: install it with `apt-get install python3-azure` (.ci/run does), or set PYTHON to an interpreter that can import azure.keyvault.administration.";

const PROBE = "import azure.keyvault.administration, azure.keyvault.keys, azure.identity";

/** The first interpreter that imports the SDK's key vault and identity packages. */
export function findAzurePython(): string | undefined {
  const candidates = [process.env["PYTHON"], "/usr/bin/python3", "python3"].filter((c): c is string => c !== undefined && c !== "");
  return candidates.find((python) => spawnSync(python, ["-c", PROBE], { stdio: "ignore", timeout: 30_000 }).status === 0);
}

/** Variables that would point the Python SDK at another identity endpoint or proxy than the test's. */
const SCRUBBED = ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "AZURE_CLIENT_ID"];

/** Runs one scenario; resolves its JSON observations, or rejects with the script's stderr (its traceback). */
export function runPythonScenario(python: string, request: Record<string, unknown>, env: Record<string, string> = {}, timeoutMs = 90_000): Promise<any> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_PROXY: "127.0.0.1,localhost", PYTHONDONTWRITEBYTECODE: "1", ...env };
  for (const name of SCRUBBED) if (!(name in env)) delete childEnv[name];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python, [PYTHON_CLIENT_SCRIPT], { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8").trim();
      const stderr = Buffer.concat(err).toString("utf8").trim();
      if (code !== 0) return reject(new Error(`python scenario ${String(request["scenario"])} exited ${code ?? signal}:\n${stderr.split("\n").slice(-25).join("\n")}`));
      try {
        resolvePromise(JSON.parse(stdout.split("\n").pop() ?? ""));
      } catch {
        reject(new Error(`python scenario ${String(request["scenario"])} printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}
