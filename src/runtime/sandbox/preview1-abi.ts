/**
 * Numbers and byte layouts of WASI preview1 (`wasi_snapshot_preview1`) and its predecessor
 * `wasi_unstable` (preview0), from the witx definitions in WebAssembly/WASI
 * (`legacy/preview1/witx/typenames.witx`, `legacy/preview0/witx/typenames.witx`). Guests are
 * compiled against these values, so they are fixed forever: never renumber one.
 */

/** `errno`: a u16 enum; only the values this host returns are named. */
export const Errno = {
  success: 0,
  badf: 8,
  fault: 21,
  fbig: 22,
  inval: 28,
  nosys: 52,
  notsup: 58,
  spipe: 70,
  notcapable: 76,
} as const;

/** `clockid`: only realtime and monotonic exist here; CPU-time clocks answer EINVAL. */
export const Clock = { realtime: 0, monotonic: 1 } as const;

/** `filetype::character_device`: what stdin, stdout and stderr are. */
export const FILETYPE_CHARACTER_DEVICE = 2;

/** `fdflags` (u16): append, dsync, nonblock, rsync, sync; any other bit is invalid. */
export const FDFLAGS_ALL = 0x1f;

/** `rights` bits (u64) that apply to a character device. */
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_FDSTAT_SET_FLAGS = 1n << 3n;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHT_FD_FILESTAT_GET = 1n << 21n;
const RIGHT_POLL_FD_READWRITE = 1n << 27n;

/**
 * Rights of stdin and of stdout/stderr. No `fd_seek`/`fd_tell`: wasi-libc's `isatty` treats a
 * character device without them as a terminal, which is how a real host reports a console.
 */
export const STDIN_RIGHTS =
  RIGHT_FD_READ | RIGHT_FD_FDSTAT_SET_FLAGS | RIGHT_FD_FILESTAT_GET | RIGHT_POLL_FD_READWRITE;
export const STDOUT_RIGHTS =
  RIGHT_FD_WRITE | RIGHT_FD_FDSTAT_SET_FLAGS | RIGHT_FD_FILESTAT_GET | RIGHT_POLL_FD_READWRITE;

/** `iovec` / `ciovec`: `{ buf: u32, buf_len: u32 }`. */
export const IOVEC_SIZE = 8;

/** `fdstat`: filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16. */
export const FDSTAT = { size: 24, filetype: 0, flags: 2, rightsBase: 8, rightsInheriting: 16 };

/**
 * `filestat`: the one struct whose layout differs between the two snapshots — preview0 has a
 * u32 `nlink`, so every later field moves up by 8 and the struct is 8 bytes shorter.
 */
export interface FilestatLayout {
  readonly size: number;
  readonly filetype: number;
  readonly nlink: number;
  readonly nlinkBytes: 4 | 8;
}
export const FILESTAT_PREVIEW1: FilestatLayout = {
  size: 64,
  filetype: 16,
  nlink: 24,
  nlinkBytes: 8,
};
export const FILESTAT_PREVIEW0: FilestatLayout = {
  size: 56,
  filetype: 16,
  nlink: 20,
  nlinkBytes: 4,
};

/**
 * `subscription`: userdata u64 @0, tag u8 @8, then the variant at @16. Preview0's clock variant
 * starts with an extra u64 `identifier`, so its clock id sits 8 bytes later and the record is
 * 56 bytes instead of 48. The fd variant (`file_descriptor` u32 @16) is the same in both.
 */
export interface SubscriptionLayout {
  readonly size: number;
  readonly clockId: number;
}
export const SUBSCRIPTION_PREVIEW1: SubscriptionLayout = { size: 48, clockId: 16 };
export const SUBSCRIPTION_PREVIEW0: SubscriptionLayout = { size: 56, clockId: 24 };
export const SUBSCRIPTION = { userdata: 0, tag: 8, fd: 16 } as const;

/** `event` (same in both): userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24. */
export const EVENT = { size: 32, userdata: 0, error: 8, type: 10, nbytes: 16, flags: 24 } as const;

/** `eventtype` tags, shared by subscriptions and events. */
export const EventType = { clock: 0, fdRead: 1, fdWrite: 2 } as const;

/** `eventrwflags::fd_readwrite_hangup`: stdin has nothing left, as a pipe whose writer closed. */
export const EVENTRWFLAGS_HANGUP = 1;

/**
 * `signal` values whose default action is not "terminate": pipe (13), chld (16), urg (22) and
 * winch (27) are ignored, cont (17) continues, stop/tstp/ttin/ttou (18–21) would stop the
 * process, which a sandbox never does (nobody could continue it). Index = signal number.
 */
const NON_TERMINATING = new Set([13, 16, 17, 18, 19, 20, 21, 22, 27]);
export const SIGNAL_MAX = 30;
export function signalTerminates(signal: number): boolean {
  return !NON_TERMINATING.has(signal);
}

/**
 * Every function of `wasi_snapshot_preview1`. The import objects define all of them, so any
 * module written against the snapshot links; the ones this host cannot honour answer ENOSYS.
 * `wasi_unstable` has the same list minus `sock_accept` (an extra import is harmless).
 */
export const PREVIEW1_FUNCTIONS = [
  'args_get',
  'args_sizes_get',
  'environ_get',
  'environ_sizes_get',
  'clock_res_get',
  'clock_time_get',
  'fd_advise',
  'fd_allocate',
  'fd_close',
  'fd_datasync',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_fdstat_set_rights',
  'fd_filestat_get',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pread',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'fd_pwrite',
  'fd_read',
  'fd_readdir',
  'fd_renumber',
  'fd_seek',
  'fd_sync',
  'fd_tell',
  'fd_write',
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_open',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
  'poll_oneoff',
  'proc_exit',
  'proc_raise',
  'sched_yield',
  'random_get',
  'sock_accept',
  'sock_recv',
  'sock_send',
  'sock_shutdown',
] as const;
export type Preview1Function = (typeof PREVIEW1_FUNCTIONS)[number];
