export { startRunner, type Runner, type RunnerOptions, type RunSummary, type InstanceSummary } from './startRunner.js';
export { installCoreShim, type CoreShim, type RegisteredFunction } from './coreShim.js';
export { loadApp, type LoadedApp } from './appLoader.js';
export { parseNcrontab, type NcrontabSchedule } from './ncrontab.js';
export { EventType, eventTypeName, type HistoryEvent } from './historyEvents.js';
export { replayEpisode, type ReplayEpisodeRequest, type ReplayEpisodeResult } from './replayEpisode.js';
export { createFunctionInvoker, type FunctionInvoker } from './functionInvoker.js';
export type { OrchestratorAction, OrchestratorReply } from './hostReplay.js';
