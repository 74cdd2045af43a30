// ESLint flat config: typescript-eslint's recommended rules plus the architecture rules of
// ../shared/ARCHITECTURE.md (which folder may import what, and what keeps orchestrations deterministic).
import { builtinModules } from "node:module";
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/** Bare and `node:`-prefixed builtins: orchestrations replay, so they must not touch the machine. */
const nodeBuiltins = [...new Set(builtinModules.flatMap((m) => (m.startsWith("node:") ? [m] : [m, `node:${m}`])))];

/** A folder's files at each depth below it; a relative import that climbs as many levels leaves the folder. */
function perDepth(folder, message, afterClimb = "") {
  return [1, 2, 3, 4, 5, 6].map((depth) => ({
    files: [`${folder}/${"*/".repeat(depth - 1)}*.{ts,mts}`],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: `^(\\.\\./){${depth}}${afterClimb}`, message }] }],
    },
  }));
}

const sharedStaysShared = "shared/ is the deployed app's code: it imports nothing of emulator/, runner/, dev/, cli/, functions/ or tests.";

const orchestrationImports = {
  paths: [
    ...nodeBuiltins.map((name) => ({ name, message: "Orchestrations replay: no Node built-ins (do I/O in an activity)." })),
    { name: "durable-functions", allowTypeImports: true, message: "Orchestrations use durable-functions through the context they are given: import only its types." },
  ],
  patterns: [
    { regex: "^@azure/", message: "Orchestrations call no SDK: an activity does the I/O." },
    { regex: "^node:", message: "Orchestrations replay: no Node built-ins (do I/O in an activity)." },
    { regex: "(^|/)(config/|app/appSettings$|app/appRoot$)|[sS]ettings$", message: "Orchestrations read no settings: pass what they need in their input or from an activity." },
    { regex: "(^|/)(activities|hsm|storage)(/|$)|/lifecyclePublisher$", allowTypeImports: true, message: "Orchestrations import only types from activities and clients (`import type`); call activities by name." },
    { regex: "^(\\.\\./)+(emulator|runner|dev|cli|bin|bench|test|functions)(/|$)", message: sharedStaysShared },
  ],
};

const nondeterminism = "Orchestrations replay: take time from context.df.currentUtcDateTime, randomness and waits from the durable context.";

export default defineConfig(
  { ignores: ["dist/**", "node_modules/**", ".local-stack/**", ".state/**", ".azurite/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // TypeScript (strict) already checks names; ESLint would need every Node and test global declared.
      "no-undef": "off",
      // `_`-prefixed names and unused catch bindings are deliberate.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // `any` is used sparingly where a foreign shape is narrowed at once; strict TypeScript guards the rest.
      "@typescript-eslint/no-explicit-any": "off",
      // Input validation rejects control characters on purpose.
      "no-control-regex": "off",
      // Errors translated at a boundary carry the cause in their code and message (see shared/errors/), not `cause`.
      "preserve-caught-error": "off",
      // A style finding, not a bug class; off so the rule set stays on the architecture.
      "no-useless-assignment": "off",
    },
  },
  {
    // CommonJS entry points and fixture apps; dev/lifeline.ts loads the script it guards synchronously, as node would.
    files: ["**/*.js", "**/*.cjs", "dev/lifeline.ts"],
    rules: {
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  // shared/ deploys unchanged to Azure: nothing local or test-only may creep in.
  ...perDepth("shared", sharedStaysShared, "(\\.\\./)*(emulator|runner|dev|cli|bin|bench|test|functions)(/|$)"),
  // Orchestrations (and the durable helper they share) are deterministic generators; listed after shared/ so
  // their stricter import list (which repeats shared/'s) is the one that applies to them.
  {
    files: ["shared/*/orchestrations/**/*.ts", "shared/durable/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", orchestrationImports],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: nondeterminism },
        { object: "Math", property: "random", message: nondeterminism },
        { object: "crypto", property: "randomUUID", message: nondeterminism },
        { object: "performance", property: "now", message: nondeterminism },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: nondeterminism },
        { selector: "CallExpression[callee.name='Date']", message: nondeterminism },
      ],
      "no-restricted-globals": [
        "error",
        ...["setTimeout", "setInterval", "setImmediate", "queueMicrotask", "process", "fetch"].map((name) => ({ name, message: nondeterminism })),
      ],
    },
  },
  // functions/: registrations only, wiring shared/ handlers to triggers.
  {
    files: ["functions/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^(?!@azure/functions$|durable-functions$|\\.\\./shared/)", message: "functions/ holds registrations only: import @azure/functions, durable-functions and shared/; put logic in shared/." }] },
      ],
    },
  },
  // emulator/ is its own product: it imports nothing of ours outside emulator/.
  ...perDepth("emulator", "emulator/ imports nothing of ours outside emulator/."),
  // cli/ works against the local stack or Azure alike: it reaches them through shared/, never emulator/ or runner/.
  ...perDepth("cli", "cli/ imports shared/ only of ours: it must work against Azure as well as the local stack.", "(\\.\\./)*(emulator|runner|dev|test)(/|$)"),
  // runner/ runs any v4 app: it imports nothing of emulator/ or shared/.
  ...perDepth("runner", "runner/ imports nothing of emulator/ or shared/.", "(\\.\\./)*(emulator|shared)(/|$)"),
);
