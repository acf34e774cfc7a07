import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { isPalisadeError } from '../shared/errors.js';
import { formatInspection, inspectModule } from './inspect.js';

const wabt = await wabtInit();

function wat(text: string): Uint8Array {
  const m = wabt.parseWat('test.wat', text);
  try {
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}

const WAPC = wat(`(module
  (import "wapc" "__guest_request" (func (param i32 i32)))
  (import "env" "memory" (memory 1 4))
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))`);

describe('inspectModule without metadata', () => {
  it.each([
    [WAPC, 'kubewarden-wapc'],
    [wat('(module (func (export "opa_eval")) (func (export "__guest_call")))'), 'opa'],
    [wat('(module (func (export "_start")))'), 'unknown'],
    [wat('(module (import "host" "call" (func)) (func (export "_start")))'), 'wasi'],
    [
      wat(
        '(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))) (func (export "_start")))',
      ),
      'wasi',
    ],
  ])('detects the execution mode from the ABI (%#)', (bytes, mode) => {
    const inspection = inspectModule(bytes);
    expect(inspection.executionMode).toBe(mode);
    expect(inspection.executionModeSource).toBe('detected');
    expect(formatInspection(inspection)).toContain('No io.kubewarden.metadata section');
  });
});

describe('formatInspection', () => {
  it('shows the ABI of a module nobody annotated', () => {
    const text = formatInspection(inspectModule(WAPC));
    expect(text).toMatch(/^Module\n {2}size: +\d+ bytes\n {2}sha256: +[0-9a-f]{64}\n/);
    expect(text).toContain(
      'Imports\n  wapc.__guest_request (function)\n  env.memory (memory, 1..4 pages)\n',
    );
    expect(text).toContain('Exports\n  __guest_call (function)\n');
  });

  it('refuses bytes that are not a module', () => {
    let error: unknown;
    try {
      inspectModule(new TextEncoder().encode('{}'));
    } catch (e) {
      error = e;
    }
    expect(isPalisadeError(error, 'module_invalid')).toBe(true);
  });
});
