import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFunctionAppClient } from "../../cli/functionAppClient";

/** Accepts connections and requests and never answers (a hung app, or something else on the port). */
let silent: Server;
const sockets = new Set<Socket>();
let silentUrl: string;

beforeAll(async () => {
  silent = createServer(() => undefined);
  silent.on("connection", (s) => sockets.add(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

describe("the function app client gives up instead of hanging", () => {
  it("an app that accepts the request but never answers fails after the answer timeout, naming the URL and the fix", async () => {
    const app = createFunctionAppClient(silentUrl, () => undefined, { answerMs: 300 });
    const started = Date.now();
    await expect(app.getStatus("x")).rejects.toThrow(`[Unavailable] The function app at ${silentUrl} did not answer (no answer to GET /api/runs/x within 0.3 s). Fix: start it`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("nothing listening fails at once with the connection error", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    await expect(createFunctionAppClient(url, () => undefined).post("backups", {})).rejects.toThrow(`[Unavailable] The function app at ${url} did not answer (ECONNREFUSED).`);
  });
});
