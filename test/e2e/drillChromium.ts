/**
 * Opens an HTML file in headless Chromium (Debian's `chromium`) and reads what a person would SEE: the page's
 * rendered text (`innerText`, which leaves out anything CSS hides) and the drill report's verdict, objectives and
 * per-check rows with their on-screen boxes. It speaks the DevTools protocol over `--remote-debugging-pipe`
 * (fds 3/4, NUL-delimited JSON), so it needs no WebSocket client and no port.
 *
 *   const seen = await renderInChromium("/tmp/report.html");   // throws with install instructions if missing
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Readable, Writable } from "node:stream";

export const CHROMIUM_INSTALL_HINT = "Install it with `apt-get update && apt-get install -y chromium` (Debian), or set CHROMIUM_BIN to a Chromium/Chrome binary.";

export interface RenderedRow {
  name: string;
  cells: string[];
  /** Laid out with a non-empty box (so it is on the page, not hidden). */
  visible: boolean;
}

export interface RenderedReport {
  title: string;
  /** `document.body.innerText`: the text as rendered. */
  text: string;
  verdict: { attr: string | null; text: string; visible: boolean } | null;
  objectives: RenderedRow[];
  checks: RenderedRow[];
  /** PNG screenshot size in bytes (proves a frame was painted). */
  screenshotBytes: number;
}

/** The Chromium binary: CHROMIUM_BIN, else `chromium` / `chromium-browser` on PATH; throws with the fix. */
export function chromiumBinary(): string {
  const candidates = [process.env["CHROMIUM_BIN"], "chromium", "chromium-browser"].filter((c): c is string => c !== undefined && c !== "");
  for (const c of candidates) {
    const r = spawnSync(c, ["--version"], { encoding: "utf8", timeout: 20_000 });
    if (r.status === 0 && /chrom/i.test(r.stdout)) return c;
  }
  throw new Error(`Headless Chromium is needed to check the drill report's HTML, but none was found (tried ${candidates.join(", ")}). ${CHROMIUM_INSTALL_HINT}`);
}

export async function renderInChromium(htmlFile: string, timeoutMs = 30_000): Promise<RenderedReport> {
  const { value, screenshot } = await readInChromium<Omit<RenderedReport, "screenshotBytes">>(
    pathToFileURL(htmlFile).href,
    `(() => {
        const box = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
        const rows = (sel, attr) => [...document.querySelectorAll(sel)].map((r) => ({ name: r.getAttribute(attr), cells: [...r.cells].map((c) => c.innerText.trim()), visible: box(r) }));
        const v = document.querySelector('[data-verdict]');
        return {
          title: document.title,
          text: document.body.innerText,
          verdict: v === null ? null : { attr: v.getAttribute('data-verdict'), text: v.innerText.trim(), visible: box(v) },
          objectives: rows('[data-objective]', 'data-objective'),
          checks: rows('[data-check]', 'data-check'),
        };
      })()`,
    timeoutMs,
  );
  return { ...value, screenshotBytes: screenshot.length };
}

/**
 * Loads `url` (a file: or http: URL) in headless Chromium, evaluates `expression` in the page once it has loaded
 * and returns its value with a PNG screenshot of the page.
 */
export async function readInChromium<T>(url: string, expression: string, timeoutMs = 30_000): Promise<{ value: T; screenshot: Buffer }> {
  const bin = chromiumBinary();
  const profile = mkdtempSync(join(tmpdir(), "drill-chromium-"));
  const child = spawn(bin, ["--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", `--user-data-dir=${profile}`, "--window-size=1280,2000", "about:blank"], {
    stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString("utf8")).slice(-4000)));
  const toChrome = child.stdio[3] as Writable;
  const fromChrome = child.stdio[4] as Readable;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let buffer = "";
  fromChrome.on("data", (d: Buffer) => {
    buffer += d.toString("utf8");
    let nul: number;
    while ((nul = buffer.indexOf("\0")) !== -1) {
      const msg = JSON.parse(buffer.slice(0, nul)) as { id?: number; result?: unknown; error?: { message: string } };
      buffer = buffer.slice(nul + 1);
      const waiter = msg.id === undefined ? undefined : pending.get(msg.id);
      if (waiter === undefined) continue;
      pending.delete(msg.id!);
      if (msg.error !== undefined) waiter.reject(new Error(`Chromium DevTools: ${msg.error.message}`));
      else waiter.resolve(msg.result);
    }
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", (code) => {
    for (const w of pending.values()) w.reject(new Error(`Chromium exited (${code}) before answering. stderr: ${stderr}`));
    pending.clear();
  });
  let nextId = 1;
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      toChrome.write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`);
    });
  const evaluate = async (sessionId: string, expression: string): Promise<unknown> => {
    const r = (await send("Runtime.evaluate", { expression, returnByValue: true }, sessionId)) as { result: { value?: unknown }; exceptionDetails?: { text: string } };
    if (r.exceptionDetails !== undefined) throw new Error(`evaluating in the page failed: ${r.exceptionDetails.text}`);
    return r.result.value;
  };
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const { targetId } = (await send("Target.createTarget", { url })) as { targetId: string };
    const { sessionId } = (await send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    // createTarget returns before the navigation commits: wait until the page itself has loaded.
    const loaded = `location.href !== "about:blank" && document.readyState === "complete"`;
    let ready = false;
    for (let i = 0; i < 200 && !(ready = (await evaluate(sessionId, loaded)) === true); i++) await new Promise((r) => setTimeout(r, 50));
    if (!ready) throw new Error(`Chromium did not finish loading ${url}.`);
    const value = (await evaluate(sessionId, expression)) as T;
    const shot = (await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true }, sessionId)) as { data: string };
    return { value, screenshot: Buffer.from(shot.data, "base64") };
  } finally {
    clearTimeout(timer);
    await send("Browser.close").catch(() => undefined);
    const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(killer);
    rmSync(profile, { recursive: true, force: true });
  }
}
