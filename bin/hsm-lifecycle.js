#!/usr/bin/env node
// The operator CLI; the TypeScript lives in cli/ and is compiled by `npm run build` (dist/cli/main.js).
"use strict";
const { runCli } = require("../dist/cli/main.js");

runCli(process.argv.slice(2)).then(
  // Exit explicitly: SDK keep-alive sockets and token-cache timers must not keep a finished command alive.
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`hsm-lifecycle: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
