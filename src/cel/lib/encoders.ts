import type { Environment } from '@marcbachmann/cel-js';
import { registerNamespace } from './namespace.js';
import { celError, fn } from './values.js';

const STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const RAW = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2,3})?$/;

/**
 * cel-go `base64.decode`: standard alphabet, padded, falling back to unpadded; Node's decoder
 * silently skips invalid characters, so validity is checked first.
 */
function decode(s: string): Uint8Array {
  if (!STD.test(s) && !RAW.test(s)) {
    const bad = s.search(/[^A-Za-z0-9+/=]/);
    throw celError(`illegal base64 data at input byte ${bad < 0 ? s.length : bad}`);
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** cel-go ext.Encoders (`base64.encode`, `base64.decode`), which Kubewarden enables. */
export function registerEncodersLibrary(env: Environment): void {
  const ns = registerNamespace(env, 'base64');
  fn(env, `${ns}.encode(bytes): string`, (_: unknown, b: Uint8Array) =>
    Buffer.from(b).toString('base64'),
  );
  fn(env, `${ns}.decode(string): bytes`, (_: unknown, s: string) => decode(s));
}
