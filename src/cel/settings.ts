import { isJsonObject, type JsonValue } from '../shared/admission.js';
import type { FieldError } from '../shared/errors.js';

/** HTTP codes for the `reason` of a validation, as cel-policy and ValidatingAdmissionPolicy map them. */
export const REASON_CODES = {
  Unauthorized: 401,
  Forbidden: 403,
  Invalid: 400,
  RequestEntityTooLarge: 413,
} as const;

export type ValidationReason = keyof typeof REASON_CODES;

export interface CelVariableSetting {
  readonly name: string;
  readonly expression: string;
}

export interface CelValidationSetting {
  readonly expression: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly reason: ValidationReason;
}

export interface CelParamRef {
  readonly name?: string;
  readonly namespace?: string;
  readonly selector?: JsonValue;
  readonly parameterNotFoundAction: 'Allow' | 'Deny';
}

/** Kubewarden cel-policy settings (a ValidatingAdmissionPolicy subset), validated. */
export interface CelPolicySettings {
  readonly variables: readonly CelVariableSetting[];
  readonly validations: readonly CelValidationSetting[];
  readonly failurePolicy: 'Fail' | 'Ignore';
  readonly paramKind?: { readonly apiVersion: string; readonly kind: string };
  readonly paramRef?: CelParamRef;
}

const IDENTIFIER = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

/**
 * Reads cel-policy settings, collecting every problem with its field path (`<base>.validations[2].reason`)
 * rather than stopping at the first, so a user fixes a manifest in one round trip.
 */
export function parseCelSettings(
  raw: JsonValue | undefined,
  base: string,
): { settings?: CelPolicySettings; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (!isJsonObject(raw)) {
    errors.push({ path: base, message: 'must be an object with `validations`' });
    return { errors };
  }
  const variables = readList(raw.variables, `${base}.variables`, errors).flatMap((v, i) => {
    const path = `${base}.variables[${i}]`;
    const name = readString(v, 'name', path, errors, true);
    const expression = readString(v, 'expression', path, errors, true);
    if (name !== undefined && !IDENTIFIER.test(name)) {
      errors.push({ path: `${path}.name`, message: `"${name}" is not a valid CEL identifier` });
    } else if (name === 'params') {
      errors.push({ path: `${path}.name`, message: '"params" is reserved for policy parameters' });
    }
    return name !== undefined && expression !== undefined ? [{ name, expression }] : [];
  });
  const seen = new Set<string>();
  variables.forEach((v, i) => {
    if (seen.has(v.name)) {
      errors.push({ path: `${base}.variables[${i}].name`, message: `duplicate name "${v.name}"` });
    }
    seen.add(v.name);
  });
  const validationList = readList(raw.validations, `${base}.validations`, errors);
  if (raw.validations !== undefined && validationList.length === 0) {
    errors.push({ path: `${base}.validations`, message: 'must contain at least one item' });
  } else if (raw.validations === undefined) {
    errors.push({ path: `${base}.validations`, message: 'is required' });
  }
  const validations = validationList.flatMap((v, i) =>
    readValidation(v, `${base}.validations[${i}]`, errors),
  );
  const failurePolicy = raw.failurePolicy ?? 'Fail';
  if (failurePolicy !== 'Fail' && failurePolicy !== 'Ignore') {
    errors.push({ path: `${base}.failurePolicy`, message: "must be either 'Ignore' or 'Fail'" });
  }
  const params = readParams(raw, base, errors);
  if (errors.length > 0) return { errors };
  return {
    settings: {
      variables,
      validations,
      failurePolicy: failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
      ...params,
    },
    errors,
  };
}

function readValidation(v: JsonValue, path: string, errors: FieldError[]): CelValidationSetting[] {
  const expression = readString(v, 'expression', path, errors, true);
  const message = readString(v, 'message', path, errors, false);
  const messageExpression = readString(v, 'messageExpression', path, errors, false);
  const reason = readString(v, 'reason', path, errors, false) ?? 'Invalid';
  if (message !== undefined && message.trim() === '') {
    errors.push({ path: `${path}.message`, message: 'must be non-empty if specified' });
  } else if (message?.includes('\n')) {
    errors.push({ path: `${path}.message`, message: 'must not contain line breaks' });
  }
  if (messageExpression !== undefined && messageExpression.trim() === '') {
    errors.push({ path: `${path}.messageExpression`, message: 'must be non-empty if specified' });
  }
  if (!(reason in REASON_CODES)) {
    errors.push({
      path: `${path}.reason`,
      message: `unsupported value "${reason}": supported values are ${Object.keys(REASON_CODES).join(', ')}`,
    });
  }
  if (expression === undefined) return [];
  return [
    {
      expression,
      reason: reason as ValidationReason,
      ...(message !== undefined ? { message: message.trim() } : {}),
      ...(messageExpression !== undefined ? { messageExpression } : {}),
    },
  ];
}

function readParams(
  raw: { [key: string]: JsonValue },
  base: string,
  errors: FieldError[],
): Pick<CelPolicySettings, 'paramKind' | 'paramRef'> {
  const out: { paramKind?: { apiVersion: string; kind: string }; paramRef?: CelParamRef } = {};
  if (raw.paramKind !== undefined) {
    const path = `${base}.paramKind`;
    const apiVersion = readString(raw.paramKind, 'apiVersion', path, errors, true);
    const kind = readString(raw.paramKind, 'kind', path, errors, true);
    if (apiVersion !== undefined && kind !== undefined) out.paramKind = { apiVersion, kind };
  }
  if (raw.paramRef !== undefined) {
    const path = `${base}.paramRef`;
    const ref = raw.paramRef;
    const name = readString(ref, 'name', path, errors, false);
    const namespace = readString(ref, 'namespace', path, errors, false);
    const selector = isJsonObject(ref) ? ref.selector : undefined;
    const action = readString(ref, 'parameterNotFoundAction', path, errors, false);
    if (name === undefined && selector === undefined) {
      errors.push({ path, message: 'must have either name or selector' });
    } else if (name !== undefined && selector !== undefined) {
      errors.push({ path, message: 'cannot have both name and selector' });
    }
    if (action !== 'Allow' && action !== 'Deny') {
      errors.push({
        path: `${path}.parameterNotFoundAction`,
        message: "must be 'Deny' or 'Allow'",
      });
    } else {
      out.paramRef = {
        parameterNotFoundAction: action,
        ...(name !== undefined ? { name } : {}),
        ...(namespace !== undefined ? { namespace } : {}),
        ...(selector !== undefined ? { selector } : {}),
      };
    }
  }
  return out;
}

function readList(v: JsonValue | undefined, path: string, errors: FieldError[]): JsonValue[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errors.push({ path, message: 'must be a list' });
    return [];
  }
  return v;
}

function readString(
  obj: JsonValue | undefined,
  key: string,
  path: string,
  errors: FieldError[],
  required: boolean,
): string | undefined {
  if (!isJsonObject(obj)) {
    errors.push({ path, message: 'must be an object' });
    return undefined;
  }
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) errors.push({ path: `${path}.${key}`, message: 'is required' });
    return undefined;
  }
  if (typeof v !== 'string') {
    errors.push({ path: `${path}.${key}`, message: 'must be a string' });
    return undefined;
  }
  if (required && v.trim() === '') {
    errors.push({ path: `${path}.${key}`, message: 'must not be empty' });
    return undefined;
  }
  return v;
}
