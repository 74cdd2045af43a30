export { startRunner, type Runner, type RunnerOptions, type RunSummary, type InstanceSummary } from './startRunner.js';
export { installCoreShim, type CoreShim, type RegisteredFunction } from './coreShim.js';
export { loadApp, type LoadedApp } from './appLoader.js';
export { parseNcrontab, type NcrontabSchedule } from './ncrontab.js';
export { EventType, eventTypeName, type HistoryEvent } from './historyEvents.js';
