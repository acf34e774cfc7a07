import type { AdmissionRequest, JsonValue } from '../shared/admission.js';
import { toCelLazy } from './convert.js';

const UNSET: unique symbol = Symbol('unset');
type Slot = unknown;

/**
 * The bindings of one evaluation (`object`, `oldObject`, `request`, `params`,
 * `namespaceObject`, `variables`). Each is converted to CEL values on first read, at most
 * once: a policy that reads `object.spec.replicas` never pays for `oldObject` or `request`.
 * Getters on a class rather than per-object property definitions: V8 keeps the shape
 * stable, which is most of the difference between 13 µs and 2 µs per evaluation.
 */
export class Bindings {
  #object: Slot = UNSET;
  #oldObject: Slot = UNSET;
  #request: Slot = UNSET;
  #params: Slot = UNSET;
  #namespaceObject: Slot = UNSET;

  constructor(
    private readonly admission: AdmissionRequest,
    private readonly paramsJson: JsonValue,
    private readonly namespaceJson: JsonValue | undefined,
    readonly variables: object,
  ) {}

  get object(): unknown {
    if (this.#object === UNSET) this.#object = toCelLazy(this.admission.object);
    return this.#object;
  }

  get oldObject(): unknown {
    if (this.#oldObject === UNSET) this.#oldObject = toCelLazy(this.admission.oldObject);
    return this.#oldObject;
  }

  get request(): unknown {
    if (this.#request === UNSET) this.#request = toCelLazy(this.admission as unknown as JsonValue);
    return this.#request;
  }

  get params(): unknown {
    if (this.#params === UNSET) this.#params = toCelLazy(this.paramsJson);
    return this.#params;
  }

  get namespaceObject(): unknown {
    if (this.#namespaceObject === UNSET) this.#namespaceObject = toCelLazy(this.namespaceJson);
    return this.#namespaceObject;
  }
}

/** Computes variable `index` for the evaluation that owns the variables object. */
export type VariableComputer = (index: number) => unknown;

export interface VariablesInstance {
  readonly values: unknown[];
  readonly compute: VariableComputer;
}

export type VariablesClass = new (compute: VariableComputer) => VariablesInstance;

/**
 * A class of its own per policy: cel-js types `variables` by its constructor, and its
 * fields are the policy's variables. Each field is a prototype getter that computes the
 * variable on first read and remembers it for the rest of the evaluation.
 */
export function createVariablesClass(): VariablesClass {
  return class Variables implements VariablesInstance {
    readonly values: unknown[] = [];
    constructor(readonly compute: VariableComputer) {}
  };
}

/** Declares variable `name` as field number `index` of `cls`. */
export function defineVariable(cls: VariablesClass, name: string, index: number): void {
  Object.defineProperty(cls.prototype, name, {
    enumerable: true,
    get(this: VariablesInstance): unknown {
      let v = this.values[index];
      if (v === undefined) {
        v = this.compute(index);
        this.values[index] = v;
      }
      return v;
    },
  });
}
