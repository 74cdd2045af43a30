/** Where the runner's human-readable logs go: stderr by default (stdout carries the JSON lines). */
export interface RunnerLogger {
  lifecycle(message: string): void;
  functionLog(functionName: string, invocationId: string, level: string, message: string): void;
  system(message: string): void;
}

export function createStderrLogger(enabled = true): RunnerLogger {
  const write = (line: string): void => {
    if (enabled) process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  };
  return {
    lifecycle: (message) => write(message),
    functionLog: (functionName, invocationId, level, message) => write(`[${functionName}] [${level}] (Id=${invocationId}) ${message}`),
    system: (message) => write(`[runner] ${message}`),
  };
}
