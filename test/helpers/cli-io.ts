// The CLI's io for tests: everything written to stdout and stderr kept as text, and no file to read.
import type { CliIo } from '../../cli/io.ts';

/** A `CliIo` that keeps what the command printed in `out` and `err`. */
export function captureCliIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout(t: string) {
      io.out += t;
    },
    stderr(t: string) {
      io.err += t;
    },
    readFile: async () => '',
  };
  return io;
}
