// Public surface of app/: the composition roots below the front doors (bot/ and cli/).
export { type AppConfig, loadAppConfig } from './config.ts';
export { type AppCore, openAppCore } from './core.ts';
export { type App, composeApp, type FrontDoor } from './compose.ts';
export type { AppHooks, HookInputs, RunFinishedReaction } from './hooks.ts';
export { type CliOverrides, createCliServices } from './cli.ts';
