import { closeSync, fstatSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ArbiterError } from '../config/index.ts';

/** An exclusive claim on a data folder by this process. */
export interface DirLock {
  readonly file: string;
  isHeld(): boolean;
  /**
   * Why this process no longer holds the folder, if it does not: the lock file was removed, or replaced (another
   * process took the folder). One stat, so it is checked before every write.
   */
  lost(): string | undefined;
  release(): void;
}

/** Who holds a lock file. */
export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readInfo(file: string): LockInfo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockInfo>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') return parsed as LockInfo;
  } catch {
    // Unreadable or half-written lock: treated as stale below.
  }
  return undefined;
}

/** The live process holding the nedb lock of `dir` (on this host), if any: the SQLite store must not share the folder with it. */
export function liveLockHolder(dir: string): LockInfo | undefined {
  const other = readInfo(join(dir, 'arbiter.lock'));
  if (!other || other.pid === process.pid) return undefined;
  // A holder on another host (a shared network folder) cannot be checked: taken as alive, as the nedb store does.
  if (other.host === hostname() && !isAlive(other.pid)) return undefined;
  return other;
}

/**
 * Takes the data folder for this process. The nedb store is single-process: a second process on the
 * same folder is refused with STORE_LOCKED. A lock left by a process that died (kill -9) is taken over.
 */
export function acquireDirLock(dir: string): DirLock {
  const file = join(dir, 'arbiter.lock');
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify(info));
      // A new file may get the inode of the one removed: inode and change time together tell ours apart.
      const { ino, ctimeMs } = fstatSync(fd);
      closeSync(fd);
      let held = true;
      return {
        file,
        isHeld: () => held && readInfo(file)?.pid === process.pid,
        lost() {
          if (!held) return `the data folder lock ${file} was released`;
          const st = statSync(file, { throwIfNoEntry: false });
          if (!st) return `the data folder lock ${file} was removed`;
          if (st.ino === ino && st.ctimeMs === ctimeMs) return undefined;
          const other = readInfo(file);
          return `the data folder lock ${file} was taken by another process${other ? ` (pid ${other.pid} on ${other.host})` : ''}`;
        },
        release() {
          if (!held) return;
          held = false;
          try {
            if (readInfo(file)?.pid === process.pid) unlinkSync(file);
          } catch {
            // Already gone.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ArbiterError(
          'STORE_UNAVAILABLE',
          `Cannot write the lock file in ${dir}: ${(err as NodeJS.ErrnoException).code}`,
          {
            hint: 'Set DATA_DIR to a writable folder.',
            cause: err,
          },
        );
      }
      const other = readInfo(file);
      const stale =
        !other || (other.host === info.host && (other.pid === process.pid || !isAlive(other.pid)));
      if (!stale || attempt > 0) {
        throw new ArbiterError(
          'STORE_LOCKED',
          `DATA_DIR ${dir} is in use by another Arbiter process${other ? ` (pid ${other.pid} on ${other.host}, since ${other.startedAt})` : ''}.`,
          {
            hint:
              'The nedb store supports one process per folder. Stop the other process, give this one its own DATA_DIR, ' +
              'use the SQLite store (EMBEDDED_STORE=sqlite, shared by several processes), or set MONGODB_URI to run ' +
              'several replicas on one MongoDB. If no other process is running, delete ' +
              `${file}.`,
          },
        );
      }
      try {
        unlinkSync(file);
      } catch {
        // Someone else removed it first; the next attempt decides.
      }
    }
  }
  throw new ArbiterError('STORE_LOCKED', `Could not lock ${dir}.`);
}
