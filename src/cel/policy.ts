import type { AdmissionRequest, JsonValue } from '../shared/admission.js';
import {
  PalisadeError,
  errorMessage,
  formatFieldErrors,
  type FieldError,
} from '../shared/errors.js';
import type { PolicyModule, PolicyVerdict, ValidationInput } from '../shared/policy.js';
import { CelCompiler, isFieldError, type CelProgram } from './compiler.js';
import {
  Bindings,
  createVariablesClass,
  defineVariable,
  type VariablesClass,
  type VariablesInstance,
} from './bindings.js';
import { parseCelSettings, REASON_CODES, type CelPolicySettings } from './settings.js';

const BINDINGS = ['object', 'oldObject', 'request', 'params', 'namespaceObject'] as const;

interface CompiledValidation {
  readonly program: CelProgram;
  readonly message?: string;
  readonly messageProgram?: CelProgram;
  readonly code: number;
}

interface CompiledVariable {
  readonly name: string;
  readonly program: CelProgram;
}

/**
 * Compiles Kubewarden cel-policy settings into a policy module. Everything is parsed and
 * type-checked here, once; a problem anywhere is a `settings_invalid` error listing every
 * field path, and no request ever sees a half-compiled policy.
 *
 * @param base the field path of the settings in the user's document (`spec.settings`)
 */
export function compileCelPolicy(raw: JsonValue | undefined, base: string): PolicyModule {
  const { settings, errors } = parseCelSettings(raw, base);
  if (!settings) throw settingsError(base, errors);

  const variableTypes: Record<string, string> = {};
  const compiled: CompiledVariable[] = [];
  const VariablesType = createVariablesClass();
  // Variables are compiled in order: each may use the ones declared before it, as in VAP.
  for (const [i, v] of settings.variables.entries()) {
    const compiler = compilerFor(variableTypes, VariablesType);
    const program = compiler.compile(v.expression, `${base}.variables[${i}].expression`);
    if (isFieldError(program)) {
      errors.push(program);
      // Declared as dyn so the expressions using it report their own problems, not this one again.
      variableTypes[v.name] = 'dyn';
      continue;
    }
    variableTypes[v.name] = program.outputType;
    defineVariable(VariablesType, v.name, compiled.length);
    compiled.push({ name: v.name, program });
  }
  const compiler = compilerFor(variableTypes, VariablesType);
  const validations = settings.validations.flatMap((v, i): CompiledValidation[] => {
    const path = `${base}.validations[${i}]`;
    const program = compiler.compile(v.expression, `${path}.expression`, 'bool');
    const messageProgram =
      v.messageExpression === undefined
        ? undefined
        : compiler.compile(v.messageExpression, `${path}.messageExpression`, 'string');
    if (isFieldError(program)) errors.push(program);
    if (messageProgram && isFieldError(messageProgram)) errors.push(messageProgram);
    if (isFieldError(program) || (messageProgram && isFieldError(messageProgram))) return [];
    return [
      {
        program,
        code: REASON_CODES[v.reason],
        ...(v.message !== undefined ? { message: v.message } : {}),
        ...(messageProgram ? { messageProgram } : {}),
      },
    ];
  });
  if (errors.length > 0) throw settingsError(base, errors);
  return new CelPolicy(settings, compiled, validations, VariablesType);
}

function compilerFor(variableTypes: Record<string, string>, ctor: VariablesClass): CelCompiler {
  return new CelCompiler(
    [...BINDINGS.map((name) => ({ name, type: 'dyn' })), { name: 'variables', type: 'Variables' }],
    [{ name: 'Variables', ctor, fields: variableTypes }],
  );
}

function settingsError(base: string, errors: readonly FieldError[]): PalisadeError {
  return new PalisadeError(
    'settings_invalid',
    `${base} are invalid: ${formatFieldErrors(errors)}`,
    {
      fields: errors,
    },
  );
}

/** A compiled cel-policy: evaluation stops at the first failing validation, as in cel-policy. */
class CelPolicy implements PolicyModule {
  readonly kind = 'cel';

  constructor(
    private readonly settings: CelPolicySettings,
    private readonly variables: readonly CompiledVariable[],
    private readonly validations: readonly CompiledValidation[],
    private readonly VariablesType: VariablesClass,
  ) {}

  validate(input: ValidationInput): PolicyVerdict {
    const deadline = Date.now() + input.timeoutMs;
    const params = input.context.params;
    const paramRef = this.settings.paramRef;
    if (paramRef && (params === undefined || params === null || isEmptyList(params))) {
      if (
        paramRef.parameterNotFoundAction === 'Allow' ||
        this.settings.failurePolicy === 'Ignore'
      ) {
        return { accepted: true };
      }
      return {
        accepted: false,
        code: 400,
        message: 'failed to get params for policy evaluation: no parameters found',
      };
    }
    const paramSets = Array.isArray(params) ? params : [params ?? null];
    const warnings: string[] = [];
    for (const p of paramSets) {
      const verdict = this.validateWith(input, p, deadline);
      if (!verdict.accepted) return verdict;
      warnings.push(...(verdict.warnings ?? []));
    }
    return warnings.length > 0 ? { accepted: true, warnings } : { accepted: true };
  }

  private validateWith(input: ValidationInput, params: JsonValue, deadline: number): PolicyVerdict {
    const activation = this.activation(
      input.request,
      params,
      input.context.namespaceObject,
      deadline,
    );
    const warnings: string[] = [];
    try {
      for (const v of this.validations) {
        if (v.program.evaluate(activation, remaining(deadline)) === true) continue;
        return {
          accepted: false,
          code: v.code,
          message: this.message(v, activation, deadline, warnings),
          ...(warnings.length ? { warnings } : {}),
        };
      }
    } catch (e) {
      if (this.settings.failurePolicy === 'Ignore' && e instanceof PalisadeError) {
        return {
          accepted: true,
          warnings: [`policy evaluation failed and failurePolicy is Ignore: ${e.message}`],
        };
      }
      throw e;
    }
    return { accepted: true };
  }

  private message(
    v: CompiledValidation,
    activation: object,
    deadline: number,
    warnings: string[],
  ): string {
    if (v.messageProgram) {
      try {
        const m = v.messageProgram.evaluate(activation, remaining(deadline));
        if (typeof m === 'string' && m.trim() !== '') return m;
        warnings.push(`${v.messageProgram.path}: did not produce a non-empty string`);
      } catch (e) {
        // As in ValidatingAdmissionPolicy: a failing messageExpression falls back, it does not hide the verdict.
        warnings.push(errorMessage(e));
      }
    }
    return v.message ?? `failed expression: ${v.program.expression.trim()}`;
  }

  /** The bindings of one evaluation; variables computed on first read, at most once. */
  private activation(
    request: AdmissionRequest,
    params: JsonValue,
    namespaceObject: JsonValue | undefined,
    deadline: number,
  ): Bindings {
    const variables: VariablesInstance = new this.VariablesType((i): unknown => {
      const v = this.variables[i];
      if (!v) throw new PalisadeError('internal_error', `variable ${i} is not compiled`);
      return v.program.evaluate(bindings, remaining(deadline));
    });
    const bindings: Bindings = new Bindings(request, params, namespaceObject, variables);
    return bindings;
  }
}

function remaining(deadline: number): number {
  const left = deadline - Date.now();
  if (left <= 0)
    throw new PalisadeError('cel_timeout', 'policy evaluation exceeded its time budget');
  return left;
}

function isEmptyList(v: JsonValue): boolean {
  return Array.isArray(v) && v.length === 0;
}
