import { join } from "node:path";
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * The import and determinism rules of ARCHITECTURE.md are lint rules (eslint.config.mjs). These cases prove
 * that each rule fires where it must and stays quiet where the architecture allows the code.
 */
const root = join(__dirname, "..", "..");
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

async function ruleIdsFor(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  expect(result, "the file is linted, not ignored").toBeDefined();
  expect(result!.messages.filter((m) => m.fatal), "the snippet parses").toEqual([]);
  return result!.messages.map((m) => m.ruleId ?? "fatal");
}

const orchestration = "shared/rotation/orchestrations/example.ts";

describe("orchestrations", () => {
  it.each([
    ["an Azure SDK", 'import { KeyClient } from "@azure/keyvault-keys";\nexport const c = KeyClient;\n'],
    ["an Azure SDK's types too", 'import type { KeyClient } from "@azure/keyvault-keys";\nexport type C = KeyClient;\n'],
    ["node:fs", 'import { readFileSync } from "node:fs";\nexport const r = readFileSync;\n'],
    ["a bare Node built-in", 'import { randomUUID } from "crypto";\nexport const r = randomUUID;\n'],
    ["the settings", 'import { loadSettings } from "../../config/settings";\nexport const s = loadSettings;\n'],
    ["the app settings", 'import { appSettings } from "../../app/appSettings";\nexport const s = appSettings;\n'],
    ["an activity's runtime code", 'import { claimRotations } from "../activities/claim";\nexport const c = claimRotations;\n'],
    ["a client module's runtime code", 'import { keyClientFor } from "../../hsm/keyClients";\nexport const k = keyClientFor;\n'],
    ["durable-functions' runtime", 'import * as df from "durable-functions";\nexport const d = df;\n'],
  ])("importing %s fails lint", async (_what, code) => {
    expect(await ruleIdsFor(orchestration, code)).toContain("no-restricted-imports");
  });

  it.each([
    ["Date.now()", "export const t = Date.now();\n", "no-restricted-properties"],
    ["new Date()", "export const t = new Date();\n", "no-restricted-syntax"],
    ["Date()", "export const t = Date();\n", "no-restricted-syntax"],
    ["Math.random()", "export const r = Math.random();\n", "no-restricted-properties"],
    ["setTimeout", "setTimeout(() => undefined, 10);\n", "no-restricted-globals"],
    ["setInterval", "setInterval(() => undefined, 10);\n", "no-restricted-globals"],
  ])("%s fails lint", async (_what, code, rule) => {
    expect(await ruleIdsFor(orchestration, code)).toContain(rule);
  });

  it("the same rules hold in every workflow's orchestrations and in the durable helper", async () => {
    for (const file of ["shared/backup/orchestrations/x.ts", "shared/drill/orchestrations/x.ts", "shared/durable/x.ts"]) {
      expect(await ruleIdsFor(file, "export const t = Date.now();\n")).toContain("no-restricted-properties");
      expect(await ruleIdsFor(file, 'import { claimRotations } from "../../rotation/activities/claim";\nexport const c = claimRotations;\n')).toContain("no-restricted-imports");
    }
  });

  it("allows type-only imports from activities, durable-functions types, names, errors, pure logic and the context's clock", async () => {
    const code = [
      'import type { OrchestrationContext } from "durable-functions";',
      'import type { ClaimRotationsOutput } from "../activities/claim";',
      'import type * as activities from "../activities/activityHandlers";',
      'import { activityNames } from "../../names";',
      'import { parseActivityFailure } from "../../errors/parseActivityFailure";',
      'import { batches } from "../batches";',
      'import { callActivity } from "../../durable/callActivity";',
      "export type A = typeof activities;",
      "export type C = ClaimRotationsOutput;",
      "export function at(context: OrchestrationContext): unknown[] {",
      "  const now = new Date(context.df.currentUtcDateTime.getTime() + 1000);",
      "  return [now, activityNames, parseActivityFailure, batches, callActivity];",
      "}",
      "",
    ].join("\n");
    expect(await ruleIdsFor(orchestration, code)).toEqual([]);
  });

  it("activities may use SDKs, settings and the clock (they do the I/O)", async () => {
    const code = 'import { readFileSync } from "node:fs";\nimport { KeyClient } from "@azure/keyvault-keys";\nexport const x = [readFileSync, KeyClient, Date.now()];\n';
    expect(await ruleIdsFor("shared/rotation/activities/example.ts", code)).toEqual([]);
  });
});

describe("folders that import nothing of ours (or only some of it)", () => {
  it.each([
    ["emulator/example.ts", 'import { orchestrationNames } from "../shared/names";\nexport const n = orchestrationNames;\n'],
    ["emulator/keys/example.ts", 'import { orchestrationNames } from "../../shared/names";\nexport const n = orchestrationNames;\n'],
    ["emulator/keys/example.ts", 'import { startRunner } from "../../runner/main";\nexport const r = startRunner;\n'],
    ["runner/example.ts", 'import { startEmulator } from "../emulator/server";\nexport const s = startEmulator;\n'],
    ["runner/example.ts", 'import { orchestrationNames } from "../shared/names";\nexport const n = orchestrationNames;\n'],
    ["functions/example.ts", 'import { readFileSync } from "node:fs";\nexport const r = readFileSync;\n'],
    ["functions/example.ts", 'import { startEmulator } from "../emulator/server";\nexport const s = startEmulator;\n'],
    ["shared/hsm/example.ts", 'import { startEmulator } from "../../emulator/server";\nexport const s = startEmulator;\n'],
    ["shared/drill/activities/example.ts", 'import { startLocalStack } from "../../../dev/localStack";\nexport const s = startLocalStack;\n'],
    ["shared/rotation/orchestrations/example.ts", 'import type { Runner } from "../../../runner/index";\nexport type R = Runner;\n'],
    ["cli/example.ts", 'import { startRunner } from "../runner/index";\nexport const r = startRunner;\n'],
  ])("%s: %s fails lint", async (file, code) => {
    expect(await ruleIdsFor(file, code)).toContain("no-restricted-imports");
  });

  it("imports within emulator/ and runner/, and functions/ wiring shared/, pass", async () => {
    expect(await ruleIdsFor("emulator/keys/example.ts", 'import { x } from "../errors";\nimport { y } from "./z";\nexport const v = [x, y];\n')).toEqual([]);
    expect(await ruleIdsFor("runner/example.ts", 'import { x } from "./durableHost";\nimport { readFileSync } from "node:fs";\nexport const v = [x, readFileSync];\n')).toEqual([]);
    expect(
      await ruleIdsFor("functions/example.ts", 'import { app } from "@azure/functions";\nimport * as df from "durable-functions";\nimport { orchestrationNames } from "../shared/names";\nexport const v = [app, df, orchestrationNames];\n'),
    ).toEqual([]);
  });
});
