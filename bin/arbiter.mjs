#!/usr/bin/env node
// The `arbiter` command: runs the compiled CLI from dist/ when it is current, else the sources through tsx.
import { launch } from './launch.mjs';

await launch('cli/main');
