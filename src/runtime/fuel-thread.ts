import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../shared/errors.js';
import { instrumentFuel } from './wasm/fuel.js';

/**
 * Adds fuel metering in a thread of its own: binaryen takes about a second to load and keeps
 * some 200 MB once used, which the policy server's process should not carry for its lifetime.
 * The thread ends after one module, and its memory with it.
 */
const port = parentPort;
if (!port) throw new Error('the fuel thread must run in a worker thread');
instrumentFuel(workerData as Uint8Array).then(
  (bytes) => {
    port.postMessage({ ok: true, bytes });
  },
  (e: unknown) => {
    port.postMessage({ ok: false, error: errorMessage(e) });
  },
);
