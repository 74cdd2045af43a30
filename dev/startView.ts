/**
 * The console of `npm start`, on stderr (stdout carries only the JSON lines). On a terminal a block of live
 * lines — the step under way with its elapsed time, one line per workflow — is redrawn in place by log-update
 * (a small library made for exactly this: rewrite the last lines of a stream) with permanent lines printed
 * above it. On anything else (CI, pipes, files, and with --verbose, where host logs interleave) every line is
 * plain text, printed once when it changes, with no escape codes.
 */
export interface StartView {
  /** A line that stays (stack progress, contract lines, warnings, the closing summary). */
  note(line: string): void;
  /** The step under way: live with its elapsed time on a terminal, one plain line otherwise. */
  step(line: string): void;
  /** Sets one live line (e.g. a workflow); a plain console prints it whenever its text changes. */
  set(key: string, line: string): void;
  /** Drops the live block (its lines are not kept: print what should stay with note()). */
  clear(): void;
}

const PLAIN_PREFIX = "[start] ";

export async function createStartView(options: { live: boolean; stream?: NodeJS.WriteStream }): Promise<StartView> {
  const stream = options.stream ?? process.stderr;
  if (!options.live) {
    const shown = new Map<string, string>();
    return {
      note: (line) => void stream.write(`${PLAIN_PREFIX}${line}\n`),
      step: (line) => void stream.write(`${PLAIN_PREFIX}${line}\n`),
      set: (key, line) => {
        if (shown.get(key) === line) return;
        shown.set(key, line);
        stream.write(`${PLAIN_PREFIX}${line}\n`);
      },
      clear: () => shown.clear(),
    };
  }
  // log-update is an ES module; this file compiles to CommonJS, so it is loaded with a dynamic import.
  const { createLogUpdate } = await import("log-update");
  const render = createLogUpdate(stream);
  const live = new Map<string, string>();
  let step: { line: string; since: number } | undefined;
  const frame = (): string => {
    const lines = [...live.values()];
    if (step !== undefined) lines.unshift(`… ${step.line} (${Math.floor((Date.now() - step.since) / 1000)} s)`);
    return lines.join("\n");
  };
  const draw = (): void => {
    if (live.size === 0 && step === undefined) render.clear();
    else render(frame());
  };
  const ticker = setInterval(draw, 1000);
  ticker.unref();
  return {
    note: (line) => {
      render.clear();
      stream.write(`${line}\n`);
      draw();
    },
    step: (line) => {
      step = { line, since: step?.since ?? Date.now() };
      draw();
    },
    set: (key, line) => {
      step = undefined;
      live.set(key, line);
      draw();
    },
    clear: () => {
      step = undefined;
      live.clear();
      render.clear();
    },
  };
}
