// `arbiter run …` and `arbiter runs …` in-process, as the front door runs them: argv parsed by the registry, the
// handler given the one CLI composition (test/helpers/cli-services.ts), and what it prints kept as text.
import {
  type RunCliArgs,
  type RunsCliCommand,
  runRunCommand,
  runRunsCommand,
} from '../../commands/runs-cli.ts';
import { viaRegistry } from './cli-args.ts';
import { type TestCliDeps, withCliServices } from './cli-services.ts';

/** The run commands over `deps` (env, and the parts a test puts in place of the configured ones). */
export function runsCli(deps: TestCliDeps, options: { isTTY?: boolean } = {}) {
  let out = '';
  let err = '';
  const files: Record<string, string> = {};
  const io = {
    stdout: (t: string) => {
      out += t;
    },
    stderr: (t: string) => {
      err += t;
    },
    ...(options.isTTY !== undefined ? { isTTY: options.isTTY } : {}),
    writeFile: async (p: string, t: string) => {
      files[p] = t;
    },
  };
  const full = { environment: {}, ...deps, io, pollMs: 20 };
  return {
    run: (argv: string[]) =>
      viaRegistry(['run', ...argv], io, (cmd: RunCliArgs) =>
        withCliServices(full, (d) => runRunCommand(cmd, d)),
      ),
    runs: (argv: string[]) =>
      viaRegistry(['runs', ...argv], io, (cmd: RunsCliCommand) =>
        withCliServices(full, (d) => runRunsCommand(cmd, d)),
      ),
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    files,
    reset() {
      out = '';
      err = '';
    },
  };
}
