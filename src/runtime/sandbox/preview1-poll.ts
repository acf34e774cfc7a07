import {
  Clock,
  EVENT,
  EVENTRWFLAGS_HANGUP,
  Errno,
  EventType,
  SUBSCRIPTION,
  type SubscriptionLayout,
} from './preview1-abi.js';
import { faultOr, type GuestMemory } from './preview1-memory.js';

/** What `poll_oneoff` needs to know about the run's descriptors. */
export interface PollTarget {
  /** Bytes readable now on `fd`, or undefined when `fd` is not open for reading. */
  readable(fd: number): number | undefined;
  /** Bytes writable now on `fd`, or undefined when `fd` is not open for writing. */
  writable(fd: number): number | undefined;
}

const TWO_32 = 2 ** 32;

/**
 * `poll_oneoff(in, out, nsubscriptions, nevents_ptr)` for one subscription layout (preview1 or
 * preview0), without waiting: every subscription yields an event at once. Clocks "expire"
 * immediately because a sandboxed policy must never park the worker thread (TinyGo and Go sleep
 * through this call; a guest that loops on the clock instead is stopped by its fuel or
 * deadline). Stdin is always ready — it holds data, or it is at end of input, reported as hangup
 * like a pipe whose writer closed — and stdout/stderr accept writes up to the output limit.
 * Bounds are checked before the first event is written, so EFAULT leaves memory untouched.
 */
export function createPollOneoff(
  memory: GuestMemory,
  target: PollTarget,
  layout: SubscriptionLayout,
): (inPtr: number, outPtr: number, count: number, neventsPtr: number) => number {
  return (inPtr, outPtr, count, neventsPtr) => {
    try {
      const n = count >>> 0;
      if (n === 0) return Errno.inval;
      const inAt = inPtr >>> 0;
      const outAt = outPtr >>> 0;
      const neventsAt = neventsPtr >>> 0;
      memory.sync();
      memory.slice(inAt, n * layout.size);
      const events = memory.slice(outAt, n * EVENT.size);
      const view = memory.view;
      view.getUint32(neventsAt, true);
      for (let i = 0; i < n; i++) {
        const sub = inAt + i * layout.size;
        // Read the whole subscription before writing its event: `in` and `out` may overlap.
        const userdataLow = view.getUint32(sub + SUBSCRIPTION.userdata, true);
        const userdataHigh = view.getUint32(sub + SUBSCRIPTION.userdata + 4, true);
        const tag = view.getUint8(sub + SUBSCRIPTION.tag);
        let error: number = Errno.success;
        let nbytes = 0;
        let flags = 0;
        if (tag === EventType.clock) {
          const id = view.getUint32(sub + layout.clockId, true);
          if (id !== Clock.realtime && id !== Clock.monotonic) error = Errno.inval;
        } else if (tag === EventType.fdRead || tag === EventType.fdWrite) {
          const fd = view.getUint32(sub + SUBSCRIPTION.fd, true);
          const ready = tag === EventType.fdRead ? target.readable(fd) : target.writable(fd);
          if (ready === undefined) error = Errno.badf;
          else {
            nbytes = ready;
            if (tag === EventType.fdRead && ready === 0) flags = EVENTRWFLAGS_HANGUP;
          }
        } else {
          error = Errno.inval;
        }
        const ev = outAt + i * EVENT.size;
        events.fill(0, i * EVENT.size, (i + 1) * EVENT.size);
        view.setUint32(ev + EVENT.userdata, userdataLow, true);
        view.setUint32(ev + EVENT.userdata + 4, userdataHigh, true);
        view.setUint16(ev + EVENT.error, error, true);
        view.setUint8(ev + EVENT.type, tag);
        view.setUint32(ev + EVENT.nbytes, nbytes % TWO_32, true);
        view.setUint32(ev + EVENT.nbytes + 4, Math.floor(nbytes / TWO_32), true);
        view.setUint16(ev + EVENT.flags, flags, true);
      }
      view.setUint32(neventsAt, n, true);
      return Errno.success;
    } catch (e) {
      return faultOr(e);
    }
  };
}
