import { Type, type Static } from '@sinclair/typebox';

/**
 * `palisade test` suites: policies (paths relative to the suite, or inline manifests) and
 * cases, each a request with what the cluster would supply and what must come back.
 * Modelled on Kyverno's kyverno-test.yaml and Kubewarden's e2e.bats cases.
 */
export const TestExpectation = Type.Object(
  {
    allowed: Type.Boolean(),
    message: Type.Optional(Type.String()),
    code: Type.Optional(Type.Integer()),
    patchedObject: Type.Optional(Type.Unknown()),
    warnings: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

export const TestCase = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    policy: Type.Optional(Type.String()),
    request: Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown())]),
    settings: Type.Optional(Type.Unknown()),
    namespaceObject: Type.Optional(Type.Unknown()),
    params: Type.Optional(Type.Unknown()),
    expect: TestExpectation,
  },
  { additionalProperties: false },
);

export const TestSuite = Type.Object(
  {
    name: Type.Optional(Type.String()),
    policies: Type.Array(Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown())]), {
      minItems: 1,
    }),
    cases: Type.Array(TestCase, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type TestExpectation = Static<typeof TestExpectation>;
export type TestCase = Static<typeof TestCase>;
export type TestSuite = Static<typeof TestSuite>;
