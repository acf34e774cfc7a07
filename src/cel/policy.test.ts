import { describe, expect, it } from 'vitest';
import type { AdmissionRequest, JsonValue } from '../shared/admission.js';
import { isPalisadeError, PalisadeError } from '../shared/errors.js';
import { compileCelPolicy } from './policy.js';

const replicaSettings = {
  variables: [
    { name: 'replicas', expression: 'object.spec.replicas' },
    { name: 'maxreplicas', expression: 'int(5)' },
  ],
  validations: [
    {
      expression: 'variables.replicas <= variables.maxreplicas',
      messageExpression:
        "'the number of replicas must be less than or equal to ' + string(variables.maxreplicas)",
    },
  ],
};

function deployment(replicas: number): AdmissionRequest {
  return {
    uid: 'u1',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    operation: 'CREATE',
    userInfo: { username: 'alice' },
    namespace: 'default',
    object: { apiVersion: 'apps/v1', kind: 'Deployment', spec: { replicas } },
  };
}

function validate(settings: JsonValue, request: AdmissionRequest, context = {}) {
  return compileCelPolicy(settings, 'spec.settings').validate({
    request,
    context,
    timeoutMs: 1000,
  });
}

function loadError(settings: JsonValue): PalisadeError {
  try {
    compileCelPolicy(settings, 'spec.settings');
  } catch (e) {
    if (e instanceof PalisadeError) return e;
    throw e;
  }
  throw new Error('expected a load error');
}

describe('cel-policy settings', () => {
  it('rejects 6 replicas with the message expression and code 400', async () => {
    expect(await validate(replicaSettings, deployment(6))).toEqual({
      accepted: false,
      code: 400,
      message: 'the number of replicas must be less than or equal to 5',
    });
  });

  it('accepts 3 and exactly 5 replicas', async () => {
    expect(await validate(replicaSettings, deployment(3))).toEqual({ accepted: true });
    expect(await validate(replicaSettings, deployment(5))).toEqual({ accepted: true });
  });

  it('treats JSON integers as CEL ints', async () => {
    const settings = {
      validations: [
        { expression: 'object.spec.replicas + 1 == 7 && type(object.spec.replicas) == int' },
      ],
    };
    expect(await validate(settings, deployment(6))).toEqual({ accepted: true });
  });

  it('falls back to the static message, then to the failed expression', async () => {
    const withMessage = {
      validations: [{ expression: 'false', message: 'nope', reason: 'Forbidden' }],
    };
    expect(await validate(withMessage, deployment(1))).toEqual({
      accepted: false,
      code: 403,
      message: 'nope',
    });
    const bare = {
      validations: [{ expression: '  object.spec.replicas < 2 ', reason: 'Unauthorized' }],
    };
    expect(await validate(bare, deployment(3))).toEqual({
      accepted: false,
      code: 401,
      message: 'failed expression: object.spec.replicas < 2',
    });
  });

  it('stops at the first failing validation', async () => {
    const settings = {
      validations: [
        { expression: 'true' },
        { expression: 'false', message: 'second' },
        { expression: 'false', message: 'third' },
      ],
    };
    expect(await validate(settings, deployment(1))).toMatchObject({ message: 'second' });
  });

  it('computes each variable at most once per evaluation', async () => {
    const settings = {
      variables: [{ name: 'n', expression: 'object.spec.replicas' }],
      validations: [{ expression: 'variables.n > 0 && variables.n < 10 && variables.n != 4' }],
    };
    expect(await validate(settings, deployment(3))).toEqual({ accepted: true });
  });

  it('lets a variable use variables declared before it', async () => {
    const settings = {
      variables: [
        { name: 'a', expression: 'object.spec.replicas' },
        { name: 'b', expression: 'variables.a * 2' },
      ],
      validations: [{ expression: 'variables.b == 12' }],
    };
    expect(await validate(settings, deployment(6))).toEqual({ accepted: true });
  });

  it('binds namespaceObject, params, request and oldObject', async () => {
    const settings = {
      validations: [
        {
          expression:
            "namespaceObject.metadata.labels.env == 'prod' && params.max == 3 && request.userInfo.username == 'alice' && oldObject == null",
        },
      ],
    };
    const context = {
      namespaceObject: { metadata: { labels: { env: 'prod' } } },
      params: { max: 3 },
    };
    expect(await validate(settings, deployment(1), context)).toEqual({ accepted: true });
  });

  it('names the field path of a validation that is not a bool', () => {
    const e = loadError({
      validations: [{ expression: 'true' }, { expression: 'true' }, { expression: "'x'" }],
    });
    expect(e.code).toBe('settings_invalid');
    expect(e.fields).toEqual([
      {
        path: 'spec.settings.validations[2].expression',
        message: 'must evaluate to bool, but its type is string',
      },
    ]);
  });

  it('names the field path of an expression that does not compile', () => {
    const e = loadError({
      variables: [{ name: 'x', expression: 'object.spec.(' }],
      validations: [{ expression: 'true', messageExpression: '1 + 2' }],
    });
    expect(e.fields.map((f) => f.path)).toEqual([
      'spec.settings.variables[0].expression',
      'spec.settings.validations[0].messageExpression',
    ]);
    expect(e.message).toContain('spec.settings.variables[0].expression: does not compile');
    const followOn = loadError({
      variables: [{ name: 'x', expression: 'object.spec.(' }],
      validations: [{ expression: 'variables.x > 1' }],
    });
    expect(followOn.fields.map((f) => f.path)).toEqual(['spec.settings.variables[0].expression']);
  });

  it('rejects unknown reasons, missing validations and bad variable names', () => {
    expect(loadError({ validations: [] }).fields[0]?.path).toBe('spec.settings.validations');
    expect(
      loadError({
        variables: [{ name: '1x', expression: '1' }],
        validations: [{ expression: 'true' }],
      }).fields[0]?.path,
    ).toBe('spec.settings.variables[0].name');
    expect(
      loadError({ validations: [{ expression: 'true', reason: 'Teapot' }] }).fields[0]?.path,
    ).toBe('spec.settings.validations[0].reason');
  });

  it('turns a runtime error into cel_evaluation_error naming the expression', () => {
    const settings = { validations: [{ expression: 'object.spec.missing > 1' }] };
    expect(() => validate(settings, deployment(1))).toThrow(
      /spec\.settings\.validations\[0\]\.expression/,
    );
    try {
      void validate(settings, deployment(1));
    } catch (e) {
      expect(isPalisadeError(e, 'cel_evaluation_error')).toBe(true);
    }
  });

  it('allows with a warning when failurePolicy is Ignore and evaluation fails', async () => {
    const settings = {
      failurePolicy: 'Ignore',
      validations: [{ expression: 'object.spec.missing > 1' }],
    };
    const verdict = await validate(settings, deployment(1));
    expect(verdict.accepted).toBe(true);
    expect(verdict.warnings?.[0]).toContain('failurePolicy is Ignore');
  });

  it('stops a runaway nested comprehension at its deadline', () => {
    const items = Array.from({ length: 3000 }, (_, i) => i);
    const request = { ...deployment(1), object: { spec: { items } } };
    const settings = {
      validations: [
        {
          expression:
            'object.spec.items.all(a, object.spec.items.all(b, object.spec.items.all(c, a + b + c >= 0)))',
        },
      ],
    };
    const policy = compileCelPolicy(settings, 'spec.settings');
    let caught: unknown;
    try {
      void policy.validate({ request, context: {}, timeoutMs: 100 });
    } catch (e) {
      caught = e;
    }
    expect(isPalisadeError(caught, 'cel_timeout')).toBe(true);
  });

  it('applies parameterNotFoundAction when params are missing', async () => {
    const base = {
      paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
      validations: [{ expression: 'params.data.max == "3"' }],
    };
    const deny = { ...base, paramRef: { name: 'limits', parameterNotFoundAction: 'Deny' } };
    const allow = { ...base, paramRef: { name: 'limits', parameterNotFoundAction: 'Allow' } };
    expect(await validate(deny, deployment(1))).toMatchObject({ accepted: false, code: 400 });
    expect(await validate(allow, deployment(1))).toEqual({ accepted: true });
    expect(await validate(deny, deployment(1), { params: { data: { max: '3' } } })).toEqual({
      accepted: true,
    });
  });
});
