import { EvaluationError } from '@marcbachmann/cel-js';
import type { Environment } from '@marcbachmann/cel-js';

/**
 * Small typed wrappers over cel-js's registration API for the extensions in this folder.
 * cel-js types handlers as `(...args: any[]) => any`; these keep our handlers typed.
 */

/** Extension errors are evaluation errors, so callers see one error class for runtime faults. */
export function extError(message: string): EvaluationError {
  return new EvaluationError(message);
}

/** Every extension function is synchronous; saying so avoids cel-js's promise plumbing. */
const SYNC = { async: false } as const;

/** Registers a synchronous function or method overload. */
export function registerSync(
  env: Environment,
  signature: string,
  handler: (...args: never[]) => unknown,
): void {
  env.registerFunction(signature, handler as (...args: unknown[]) => unknown, SYNC);
}

/**
 * Declares a function namespace such as `math`: cel-js has no qualified function names, so the
 * namespace is a constant of a private type whose methods are the namespace's functions (the
 * same way cel-js itself provides `cel.bind`). Returns the type name to use as receiver.
 */
export function registerNamespace(env: Environment, name: string): string {
  const typeName = `palisade.ext.${name}Namespace`;
  // A fresh class per namespace: cel-js identifies registered types by constructor.
  const Namespace = class {
    readonly namespace = name;
  };
  Object.defineProperty(Namespace, 'name', { value: `${name}Namespace` });
  env.registerType(typeName, Namespace);
  env.registerConstant(name, typeName, new Namespace());
  return typeName;
}
