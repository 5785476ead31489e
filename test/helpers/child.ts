// Helpers for tests that run part of Arbiter in a child process and kill it (crash-safety tests).
import { type ChildProcess, spawn } from 'node:child_process';

/** Starts `node --import tsx <script> ...args` with piped output. */
export function startTsChild(script: string, args: readonly string[] = []): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Collects the child's stdout lines and resolves once `predicate` holds for the lines so far. */
export function waitForLines(
  child: ChildProcess,
  predicate: (lines: string[]) => boolean,
  timeoutMs = 20_000,
): Promise<string[]> {
  const lines: string[] = [];
  let buf = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`child did not get there in time; stderr: ${stderr}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
      if (predicate(lines)) {
        clearTimeout(timer);
        resolve(lines);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!predicate(lines)) reject(new Error(`child exited (${code}) early; stderr: ${stderr}`));
    });
  });
}

/** Kills the child with SIGKILL (kill -9) and waits until it is gone. */
export function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
