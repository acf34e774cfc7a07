import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPalisadeError } from '../shared/errors.js';
import { silentLogger } from '../shared/logger.js';
import type { CapabilityGrant, HostCallRequest, HostCapabilities } from './capabilities/types.js';
import { WasmRuntime } from './runtime.js';

/**
 * The runtime with real modules (assembled from WAT here) in real worker threads. The host
 * capabilities are a recording stand-in for the dispatcher, so the test sees exactly what
 * crossed the thread boundary.
 */
const wabt = await wabtInit();
const assemble = (wat: string): Uint8Array =>
  new Uint8Array(wabt.parseWat('test.wat', wat).toBinary({}).buffer);

/** A waPC guest: answers validate_settings with {"valid":true} and validate with `body`. */
function wapc(body: string, extra = ''): Uint8Array {
  return assemble(`(module
    (import "wapc" "__guest_request" (func $req (param i32 i32)))
    (import "wapc" "__guest_response" (func $resp (param i32 i32)))
    (import "wapc" "__host_call" (func $host (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (import "wapc" "__host_response_len" (func $hlen (result i32)))
    (import "wapc" "__host_response" (func $hresp (param i32)))
    (import "wapc" "__host_error_len" (func $elen (result i32)))
    (import "wapc" "__host_error" (func $eresp (param i32)))
    (memory (export "memory") 1)
    (global $seen (mut i32) (i32.const 0))
    (data (i32.const 1024) "{\\"valid\\":true}")
    (data (i32.const 1100) "{\\"accepted\\":true}")
    (data (i32.const 1200) "{\\"accepted\\":false,\\"message\\":\\"state leaked\\"}")
    (data (i32.const 1300) "kubewardennetv1/dns_lookup_host\\"localhost\\"")
    ${extra}
    (func (export "__guest_call") (param $op i32) (param $len i32) (result i32)
      (call $req (i32.const 0) (i32.const 64))
      (if (i32.eq (local.get $op) (i32.const 17))
        (then (call $resp (i32.const 1024) (i32.const 14)) (return (i32.const 1))))
      ${body}
      (i32.const 1)))`);
}

const grant = (policyId: string): CapabilityGrant => ({
  policyId,
  contextAwareResources: [],
  hostCapabilities: ['net/*'],
});

let runtime: WasmRuntime;
const calls: { grant: CapabilityGrant; request: HostCallRequest }[] = [];
const capabilities: HostCapabilities = {
  call: (g, request) => {
    calls.push({ grant: g, request });
    const payload = new TextEncoder().encode('{"accepted":true,"message":"host said hi"}');
    return Promise.resolve({ ok: true, payload });
  },
};

beforeAll(() => {
  runtime = new WasmRuntime({ logger: silentLogger(), capabilities, workers: 2, warmupRuns: 1 });
});
afterAll(async () => {
  await runtime.close();
});

async function load(policyId: string, bytes: Uint8Array, timeoutMs = 1000) {
  return runtime.load({
    policyId,
    bytes,
    where: policyId,
    settings: {},
    grant: grant(policyId),
    timeoutMs,
  });
}

async function errorOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
    return undefined;
  } catch (e) {
    return e;
  }
}

const request = { uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' } } as never;

describe('WasmRuntime', () => {
  it('gives every evaluation a fresh instance: a global set by one call is unset in the next', async () => {
    const policy = await load(
      'fresh',
      wapc(`(if (global.get $seen)
              (then (call $resp (i32.const 1200) (i32.const 43)) (return (i32.const 1))))
            (global.set $seen (i32.const 1))
            (call $resp (i32.const 1100) (i32.const 17))`),
    );
    for (let i = 0; i < 6; i++) {
      const v = await policy.validate({ request, context: {}, timeoutMs: 1000 });
      expect(v).toEqual({ accepted: true });
    }
    policy.close?.();
  });

  it('carries a host call to the main thread and its answer back into the guest', async () => {
    const policy = await load(
      'caller',
      wapc(`(drop (call $host (i32.const 1300) (i32.const 10) (i32.const 1310) (i32.const 3)
                              (i32.const 1313) (i32.const 18) (i32.const 1331) (i32.const 11)))
            (call $hresp (i32.const 4096))
            (call $resp (i32.const 4096) (call $hlen))`),
    );
    calls.length = 0;
    const v = await policy.validate({ request, context: {}, timeoutMs: 1000 });
    expect(v).toEqual({ accepted: true, message: 'host said hi' });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.grant.policyId).toBe('caller');
    expect(calls[0]?.request.binding).toBe('kubewarden');
    expect(calls[0]?.request.namespace).toBe('net');
    expect(calls[0]?.request.operation).toBe('v1/dns_lookup_host');
    expect(new TextDecoder().decode(calls[0]?.request.payload)).toBe('"localhost"');
    policy.close?.();
  });

  it('stops a guest that never returns, then serves the next evaluations', async () => {
    const spinning = await load(
      'spin',
      wapc(`(if (i32.eq (local.get $op) (i32.const 8)) (then (loop $l (br $l))))
            (call $resp (i32.const 1100) (i32.const 17))`),
      300,
    );
    const good = await load('good', wapc(`(call $resp (i32.const 1100) (i32.const 17))`));
    const stopped = await errorOf(() =>
      spinning.validate({ request, context: {}, timeoutMs: 300 }),
    );
    expect(isPalisadeError(stopped) && stopped.code).toBe('policy_timeout');
    expect(await good.validate({ request, context: {}, timeoutMs: 1000 })).toEqual({
      accepted: true,
    });
    const again = await errorOf(() => spinning.validate({ request, context: {}, timeoutMs: 300 }));
    expect(isPalisadeError(again) && again.code).toBe('policy_timeout');
    spinning.close?.();
    good.close?.();
  });

  it('rejects settings the policy itself declares invalid, with its reason', async () => {
    const bytes = assemble(`(module
      (import "wapc" "__guest_request" (func $req (param i32 i32)))
      (import "wapc" "__guest_response" (func $resp (param i32 i32)))
      (memory (export "memory") 1)
      (data (i32.const 1024) "{\\"valid\\":false,\\"message\\":\\"denied_names must be a list\\"}")
      (func (export "__guest_call") (param i32 i32) (result i32)
        (call $req (i32.const 0) (i32.const 64))
        (call $resp (i32.const 1024) (i32.const 55))
        (i32.const 1)))`);
    const error = await load('bad-settings', bytes).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPalisadeError(error) && error.code).toBe('settings_invalid');
    expect(String(error)).toContain('denied_names must be a list');
  });

  it('names the imports a module needs that no host provides', async () => {
    const bytes = assemble(`(module
      (import "env" "launch_missiles" (func))
      (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))`);
    const error = await load('missiles', bytes).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPalisadeError(error) && error.code).toBe('module_invalid');
    expect(String(error)).toContain('env.launch_missiles');
  });
});
