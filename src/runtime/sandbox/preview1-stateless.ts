import { Errno, PREVIEW1_FUNCTIONS, SIGNAL_MAX, signalTerminates } from './preview1-abi.js';

/**
 * Thrown by `proc_exit` (and by `proc_raise` for a terminating signal) to unwind the guest: the
 * program is over, and no wasm code may run after it. Callers of `_start` catch it and read
 * `code`; any other throw out of the guest is a trap.
 */
export class ProcExit extends Error {
  override readonly name = 'ProcExit';
  /** The exit status; 128 + the signal number after `proc_raise`, as shells report it. */
  readonly code: number;
  /** The signal that ended the program, when `proc_raise` did. */
  readonly signal: number | undefined;

  constructor(code: number, signal?: number) {
    super(
      signal === undefined
        ? `the program exited with code ${code}`
        : `the program was terminated by signal ${signal}`,
    );
    this.code = code;
    this.signal = signal;
  }
}

/**
 * Guests exit through `proc_exit` on many runs (Go calls it even for status 0), so this throw is
 * on the hot path. It captures no stack trace: an exit is not an error, and walking the guest's
 * wasm frames for one cost ~5 us per exit (20 frames deep, measured).
 */
function exit(code: number, signal?: number): never {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    throw new ProcExit(code, signal);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

type HostFunction = (...args: never[]) => number;

const nosys = (): number => Errno.nosys;

/** Descriptors 0–2 exist but are not directories; nothing else exists (no preopens). */
const notADirectory = (fd: number): number => (fd >>> 0 <= 2 ? Errno.notcapable : Errno.badf);

/**
 * The host functions that touch no per-run state, shared by every run so that building an import
 * object only allocates closures for the dozen calls that need this run's memory and buffers.
 */
const overrides: Record<string, HostFunction> = {
  // The environment is empty: `environ_sizes_get` (per run, it writes memory) says so.
  environ_get: (): number => Errno.success,

  // There are no preopened directories: wasi-libc and Go probe fd 3, 4, … until EBADF.
  fd_prestat_get: (): number => Errno.badf,
  fd_prestat_dir_name: (): number => Errno.badf,

  path_create_directory: notADirectory,
  path_filestat_get: notADirectory,
  path_filestat_set_times: notADirectory,
  path_link: notADirectory,
  path_open: notADirectory,
  path_readlink: notADirectory,
  path_remove_directory: notADirectory,
  path_rename: notADirectory,
  path_symlink: (_oldPath: number, _oldLength: number, fd: number): number => notADirectory(fd),
  path_unlink_file: notADirectory,

  sock_accept: (): number => Errno.notsup,
  sock_recv: (): number => Errno.notsup,
  sock_send: (): number => Errno.notsup,
  sock_shutdown: (): number => Errno.notsup,

  sched_yield: (): number => Errno.success,
  proc_exit: (code: number): number => exit(code >>> 0),
  proc_raise: (signal: number): number => {
    const sig = signal >>> 0;
    if (sig === 0 || sig > SIGNAL_MAX) return Errno.inval;
    return signalTerminates(sig) ? exit(128 + sig, sig) : Errno.success;
  },
};

/**
 * All preview1 functions with their stateless behaviour: ENOSYS unless overridden above. The
 * per-run import object inherits from this (prototype lookups are what `WebAssembly.Instance`
 * does for imports), so a module linking any preview1 function instantiates. Not frozen: an
 * assignment cannot shadow a frozen prototype's property, and the per-run object shadows some.
 */
export const STATELESS_IMPORTS: Readonly<Record<string, HostFunction>> = Object.fromEntries(
  PREVIEW1_FUNCTIONS.map((name) => [name, overrides[name] ?? nosys]),
);
