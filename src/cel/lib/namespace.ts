import type { Environment } from '@marcbachmann/cel-js';

/** Instances mark a namespace or macro receiver; they carry no data beyond their name. */
class Marker {
  constructor(readonly markerName: string) {}
}

/**
 * Registers a private type so a macro can be declared on it without overlapping a built-in
 * overload (cel-js rejects a second overload with the same receiver, name and arity).
 */
export function registerMarkerType(env: Environment, typeName: string): void {
  const ctor = class extends Marker {};
  env.registerType(typeName, ctor);
}

/**
 * Declares a namespace such as `sets` or `lists` so `sets.contains(a, b)` resolves. cel-js has
 * no qualified function names: `sets.contains(...)` parses as a method call on an identifier
 * `sets`. A constant of a private type gives that identifier a value, and the functions are
 * registered as methods on that type. Returns the type name to use as the receiver.
 */
export function registerNamespace(env: Environment, name: string): string {
  const typeName = `palisade.namespace.${name}`;
  const ctor = class extends Marker {};
  env.registerType(typeName, ctor);
  env.registerConstant(name, typeName, new ctor(name));
  return typeName;
}
