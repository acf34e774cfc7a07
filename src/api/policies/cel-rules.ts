/**
 * The CEL rules (`x-kubernetes-validations`) the API server evaluates on Palisade's custom
 * resources. Kubewarden checks the same things in its controller's validating webhook; as
 * CRD rules they hold even when the operator is down, and `kubectl apply` answers at once.
 * They ride on the TypeBox schemas as an extra keyword: TypeBox ignores it, the CRD
 * generator copies it.
 */

/** One `x-kubernetes-validations` entry (apiextensions.k8s.io/v1 ValidationRule). */
export interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly reason?:
    'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /** JSON path (from the schema node carrying the rule) of the field to blame. */
  readonly fieldPath?: string;
  readonly optionalOldSelf?: boolean;
}

/** Schema options carrying CEL rules. */
export function celRules(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

/** Group member names are called as functions in the group expression, hence identifiers. */
export const GROUP_MEMBER_NAME_PATTERN = '^[_a-zA-Z][_a-zA-Z0-9]*$';

/** Words the group expression cannot use as member names (Kubewarden's list). */
export const CEL_RESERVED_WORDS = [
  'true',
  'false',
  'null',
  'in',
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
] as const;

/** A policy cannot move to another policy server: its webhook and config live there. */
export const POLICY_SERVER_IMMUTABLE: CelRule = {
  rule: 'self == oldSelf',
  message: 'policyServer is immutable; recreate the policy to move it to another policy server',
  reason: 'FieldValueForbidden',
};

/**
 * Switching an enforcing policy to monitor would silently stop enforcement; Kubewarden
 * forbids it, and so do we. monitor → protect is fine.
 */
export const NO_PROTECT_TO_MONITOR: CelRule = {
  rule: "!(oldSelf == 'protect' && self == 'monitor')",
  message: 'changing mode from protect to monitor is not allowed; recreate the policy instead',
  reason: 'FieldValueForbidden',
};

/** The evaluation deadline must fit in the webhook's timeout, or the API server gives up first. */
export const EVAL_TIMEOUT_WITHIN_WEBHOOK_TIMEOUT: CelRule = {
  rule: '!has(self.timeoutEvalSeconds) || !has(self.timeoutSeconds) || self.timeoutEvalSeconds <= self.timeoutSeconds',
  message: 'timeoutEvalSeconds must be less than or equal to timeoutSeconds',
  fieldPath: '.timeoutEvalSeconds',
};

/** Same for each member of a group, against the group's webhook timeout. */
export const MEMBER_TIMEOUTS_WITHIN_WEBHOOK_TIMEOUT: CelRule = {
  rule:
    '!has(self.timeoutSeconds) || self.policies.all(name, ' +
    '!has(self.policies[name].timeoutEvalSeconds) || ' +
    'self.policies[name].timeoutEvalSeconds <= self.timeoutSeconds)',
  message:
    "each member's timeoutEvalSeconds must be less than or equal to the group's timeoutSeconds",
  fieldPath: '.policies',
};

/** On the `policies` map of a group: its keys are member names. */
export const MEMBER_NAMES_ARE_IDENTIFIERS: CelRule = {
  rule: `self.all(name, name.matches('${GROUP_MEMBER_NAME_PATTERN}'))`,
  message: `policy names in a group must match ${GROUP_MEMBER_NAME_PATTERN} (the expression calls them as functions)`,
};

/** On the `policies` map of a group: `in()` or `true()` could not be called. */
export const MEMBER_NAMES_NOT_RESERVED: CelRule = {
  rule: `self.all(name, !(name in [${CEL_RESERVED_WORDS.map((w) => `'${w}'`).join(', ')}]))`,
  message: `policy names in a group must not be reserved words (${CEL_RESERVED_WORDS.join(', ')})`,
};
