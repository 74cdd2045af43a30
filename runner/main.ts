#!/usr/bin/env node
import { startRunner, type RunnerOptions } from './startRunner.js';

const usage =
  'usage: node dist/runner/main.js --app DIR [--port 7071] [--state-dir DIR] [--settings FILE] [--once [--timeout SECONDS]] [--virtual-time] [--max-activities N] [--max-body-bytes N] [--allow-host NAME]...';

function parseArgs(argv: string[]): RunnerOptions & { once: boolean; timeoutSeconds?: number } {
  const opts: RunnerOptions & { once: boolean; timeoutSeconds?: number } = { appDir: '', once: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value. ${usage}`);
      return v;
    };
    switch (arg) {
      case '--app':
        opts.appDir = value();
        break;
      case '--port': {
        const p = Number(value());
        if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`--port must be an integer 0-65535 (0 = ephemeral). ${usage}`);
        opts.port = p;
        break;
      }
      case '--state-dir':
        opts.stateDir = value();
        break;
      case '--settings':
        opts.settingsFile = value();
        break;
      case '--once':
        opts.once = true;
        break;
      case '--timeout': {
        const t = Number(value());
        if (!(t > 0)) throw new Error(`--timeout must be a positive number of seconds. ${usage}`);
        opts.timeoutSeconds = t;
        break;
      }
      case '--virtual-time':
        opts.clock = 'virtual';
        break;
      case '--max-activities': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new Error(`--max-activities must be a positive integer. ${usage}`);
        opts.maxConcurrentActivities = n;
        break;
      }
      case '--max-body-bytes': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new Error(`--max-body-bytes must be a positive integer (default 1048576). ${usage}`);
        opts.maxBodyBytes = n;
        break;
      }
      case '--allow-host': {
        const name = value().toLowerCase();
        if (!/^[a-z0-9.-]+$/.test(name)) throw new Error(`--allow-host takes a host name without port or scheme, e.g. abc123.devtunnels.ms. ${usage}`);
        opts.allowedHosts = [...(opts.allowedHosts ?? []), name];
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(usage + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`Unknown argument "${arg}". ${usage}`);
    }
  }
  if (!opts.appDir) throw new Error(`--app DIR is required. ${usage}`);
  if (opts.timeoutSeconds !== undefined && !opts.once) throw new Error(`--timeout only applies to --once. ${usage}`);
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const runner = await startRunner({
    ...opts,
    scheduleTimers: !opts.once && opts.clock !== 'virtual',
    startupTimers: !opts.once,
    // Under --once the wait for terminal instances jumps the clock; otherwise nothing would.
    advanceWhenIdle: opts.clock === 'virtual' && !opts.once,
  });
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    void runner.close().finally(() => process.exit(code));
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.stdout.write(JSON.stringify({ event: 'ready', url: runner.url, functions: runner.functions }) + '\n');
  if (!opts.once) return;
  await runner.fireAllTimers();
  // An orchestration waiting for an event nobody sends would keep --once alive forever; --timeout bounds it and
  // reports what was still running as a failure.
  const timedOut = await new Promise<boolean>((resolve) => {
    const timer = opts.timeoutSeconds === undefined ? undefined : setTimeout(() => resolve(true), opts.timeoutSeconds * 1000);
    void runner.waitForTerminal().then(() => {
      if (timer) clearTimeout(timer);
      resolve(false);
    });
  });
  const summary = runner.summary();
  if (timedOut) {
    summary.ok = false;
    summary.timedOut = true;
  }
  process.stdout.write(JSON.stringify(summary) + '\n');
  stop(summary.ok ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`runner: ${(err as Error).message}\n`);
  process.exit(2);
});
