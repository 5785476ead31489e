// Public surface of app/: the composition roots below the front doors (bot/ and cli/).
export { loadAppConfig } from './config.ts';
export { openAppCore } from './core.ts';
export { composeApp } from './compose.ts';
export { createCliServices } from './cli.ts';
