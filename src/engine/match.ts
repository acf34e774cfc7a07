import type { RuleWithOperations } from '../api/policies/v1.js';
import { CelCompiler, isFieldError, type CelProgram } from '../cel/compiler.js';
import { toCel } from '../cel/convert.js';
import { isJsonObject, type AdmissionRequest, type JsonValue } from '../shared/admission.js';
import { PalisadeError, formatFieldErrors, type FieldError } from '../shared/errors.js';
import type { MatchSpec } from './definition.js';
import { selectorMatches } from './selector.js';

/**
 * Decides whether a request is one a policy applies to, as the API server would before
 * calling the webhook. Used where Palisade evaluates without an API server in front of it
 * (the CLI, audits); the admission path trusts the API server's own matching.
 */
export class RequestMatcher {
  readonly #spec: MatchSpec;
  readonly #conditions: readonly CelProgram[];

  constructor(spec: MatchSpec, conditionsPath: string) {
    this.#spec = spec;
    const errors: FieldError[] = [];
    const conditions = spec.matchConditions ?? [];
    if (conditions.length === 0) {
      this.#conditions = [];
      return;
    }
    const compiler = new CelCompiler([
      { name: 'object', type: 'dyn' },
      { name: 'oldObject', type: 'dyn' },
      { name: 'request', type: 'dyn' },
    ]);
    this.#conditions = conditions.flatMap((c, i) => {
      const program = compiler.compile(c.expression, `${conditionsPath}[${i}].expression`, 'bool');
      if (isFieldError(program)) {
        errors.push(program);
        return [];
      }
      return [program];
    });
    if (errors.length > 0) {
      throw new PalisadeError('cel_compile_error', formatFieldErrors(errors), { fields: errors });
    }
  }

  /** Throws `cel_evaluation_error` when a match condition fails to evaluate. */
  matches(
    request: AdmissionRequest,
    namespaceObject: JsonValue | undefined,
    timeoutMs: number,
  ): boolean {
    const spec = this.#spec;
    if (spec.namespace !== undefined && request.namespace !== spec.namespace) return false;
    if (!spec.rules.some((rule) => ruleMatches(rule, request))) return false;
    if (spec.namespaceSelector && !namespaceMatches(spec, request, namespaceObject)) return false;
    if (spec.objectSelector) {
      const selector = spec.objectSelector;
      const matchesObject = [request.object, request.oldObject].some(
        (o) => o !== undefined && o !== null && selectorMatches(selector, labelsOf(o)),
      );
      if (!matchesObject) return false;
    }
    if (this.#conditions.length === 0) return true;
    const activation = {
      object: toCel(request.object),
      oldObject: toCel(request.oldObject),
      request: toCel(request as unknown as JsonValue),
    };
    return this.#conditions.every((c) => c.evaluate(activation, timeoutMs) === true);
  }
}

function ruleMatches(rule: RuleWithOperations, request: AdmissionRequest): boolean {
  const ops = rule.operations ?? [];
  if (!ops.includes('*') && !ops.includes(request.operation)) return false;
  if (!listMatches(rule.apiGroups, request.resource.group)) return false;
  if (!listMatches(rule.apiVersions, request.resource.version)) return false;
  if (!(rule.resources ?? []).some((r) => resourceMatches(r, request))) return false;
  const scope = rule.scope ?? '*';
  const namespaced = request.namespace !== undefined && request.namespace !== '';
  if (scope === 'Cluster' && namespaced) return false;
  if (scope === 'Namespaced' && !namespaced) return false;
  return true;
}

function listMatches(list: readonly string[] | undefined, value: string): boolean {
  return (list ?? []).some((v) => v === '*' || v === value);
}

/** `pods`, `pods/status`, `*`, `*\/*`, `pods/*`, `*\/scale`, as the API server reads them. */
function resourceMatches(pattern: string, request: AdmissionRequest): boolean {
  const [res, sub = ''] = pattern.split('/', 2);
  const requestSub = request.subResource ?? '';
  if (res !== '*' && res !== request.resource.resource) return false;
  if (!pattern.includes('/')) return requestSub === '';
  return sub === '*' || sub === requestSub;
}

/**
 * For namespaced requests, the namespace's labels decide; without the Namespace object
 * (offline), its name label is the one label every namespace has. Cluster-scoped requests
 * match, except Namespaces themselves, which are judged by their own labels.
 */
function namespaceMatches(
  spec: MatchSpec,
  request: AdmissionRequest,
  namespaceObject: JsonValue | undefined,
): boolean {
  const selector = spec.namespaceSelector;
  if (!selector) return true;
  if (request.namespace === undefined || request.namespace === '') {
    if (request.resource.group === '' && request.resource.resource === 'namespaces') {
      return selectorMatches(selector, labelsOf(request.object ?? request.oldObject ?? null));
    }
    return true;
  }
  const labels =
    namespaceObject !== undefined && namespaceObject !== null
      ? labelsOf(namespaceObject)
      : { 'kubernetes.io/metadata.name': request.namespace };
  return selectorMatches(selector, labels);
}

function labelsOf(object: JsonValue): Record<string, string> {
  if (!isJsonObject(object) || !isJsonObject(object.metadata)) return {};
  const labels = object.metadata.labels;
  if (!isJsonObject(labels)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}
