#!/usr/bin/env node
// `npm start` builds first (tsc -p tsconfig.json), and tsc prints nothing until it is done: this says that it
// is building and for how long, then passes tsc's own output and exit code on. Plain JavaScript because it runs
// before anything is compiled. On a terminal the line counts up in place (log-update); elsewhere plain lines.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createLogUpdate } from "log-update";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
const what = "building (tsc -p tsconfig.json)";
const live = process.stderr.isTTY === true;
const render = live ? createLogUpdate(process.stderr) : undefined;
const ticker = render === undefined ? undefined : setInterval(() => render(`… ${what} ${elapsed()}`), 1000);
if (render !== undefined) render(`… ${what} 0 s`);
else process.stderr.write(`[start] ${what}…\n`);

const child = spawn(process.execPath, [tsc, "-p", "tsconfig.json"], { stdio: ["ignore", "pipe", "pipe"] });
const output = [];
child.stdout.on("data", (c) => output.push(c));
child.stderr.on("data", (c) => output.push(c));
child.on("close", (code, signal) => {
  if (ticker !== undefined) clearInterval(ticker);
  const line = code === 0 ? `built in ${elapsed()}` : `build FAILED after ${elapsed()} (tsc ${signal ?? `exit ${code}`}): fix the errors below and run npm start again`;
  if (render !== undefined) {
    render(line);
    render.done();
  } else process.stderr.write(`[start] ${line}\n`);
  process.stderr.write(Buffer.concat(output));
  process.exit(code ?? 1);
});
