import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '../..');
export const runnerMain = path.join(repoRoot, 'dist/runner/main.js');

export interface RunnerChild {
  child: ChildProcess;
  ready: { url: string; functions: string[] };
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Spawns `node dist/runner/main.js` and resolves once it printed its ready line. */
export async function spawnRunner(args: string[], env: Record<string, string> = {}): Promise<RunnerChild> {
  if (!existsSync(runnerMain)) throw new Error(`${runnerMain} is missing: build first (npx tsc -p tsconfig.json, or npm test which builds).`);
  const child = spawn(process.execPath, [runnerMain, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = await new Promise<RunnerChild['ready']>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        const parsed = JSON.parse(line) as { event?: string; url?: string; functions?: string[] };
        if (parsed.event === 'ready') resolve({ url: parsed.url as string, functions: parsed.functions ?? [] });
      }
    });
    void exited.then((code) => reject(new Error(`runner exited (${code}) before it was ready: ${err}`)));
  });
  return { child, ready, lines, stderr: () => err, exited };
}

/** Waits for the process to exit; the runner prints its summary just before. */
export async function runToExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  if (!existsSync(runnerMain)) throw new Error(`${runnerMain} is missing: build first (npx tsc -p tsconfig.json, or npm test which builds).`);
  const child = spawn(process.execPath, [runnerMain, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, lines: out.split('\n').filter(Boolean), stderr: err };
}
