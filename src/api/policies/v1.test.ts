import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { memberNameProblem } from '../../engine/group-expression.js';
import { schemaErrors } from '../../shared/schema-errors.js';
import {
  CEL_RESERVED_WORDS,
  ClusterAdmissionPolicyGroupSpec,
  ClusterAdmissionPolicySpec,
  GROUP_MEMBER_NAME_PATTERN,
  PolicyServerSpec,
  PolicyStatus,
} from './v1.js';

describe('policy specs', () => {
  it('validate a Kubewarden spec as written: defaults are for the API server only', () => {
    const spec = {
      module: 'registry://ghcr.io/kubewarden/policies/pod-privileged:v1.0.0',
      rules: [
        { apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] },
      ],
      mutating: false,
      settings: null,
    };
    const copy = structuredClone(spec);
    expect(schemaErrors(ClusterAdmissionPolicySpec, spec, 'spec')).toEqual([]);
    expect(spec).toEqual(copy);
  });

  it('report the same errors as before the CRD keywords', () => {
    const errors = schemaErrors(ClusterAdmissionPolicySpec, { mode: 'enforce', rules: [] }, 'spec');
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: 'spec.mode', message: 'must be one of protect, monitor' },
        { path: 'spec.module', message: 'is required' },
        { path: 'spec.mutating', message: 'is required' },
      ]),
    );
  });

  it('leave group member names to the engine, which agrees with the CRD rules', () => {
    const spec = {
      rules: [{}],
      expression: 'in()',
      message: 'm',
      policies: { in: { module: 'x' } },
    };
    expect(schemaErrors(ClusterAdmissionPolicyGroupSpec, spec, 'spec')).toEqual([]);
    const pattern = new RegExp(GROUP_MEMBER_NAME_PATTERN);
    for (const name of ['a', '_b2', 'signed', '1abc', 'a-b', '', ...CEL_RESERVED_WORDS]) {
      const crdAccepts =
        pattern.test(name) && !(CEL_RESERVED_WORDS as readonly string[]).includes(name);
      expect(memberNameProblem(name) === undefined, name).toBe(crdAccepts);
    }
  });
});

describe('PolicyStatus', () => {
  const condition = {
    type: 'PolicyActive',
    status: 'True',
    reason: 'PolicyActive',
    message: '',
    lastTransitionTime: '2025-01-02T03:04:05Z',
  };

  it('accepts what the operator writes', () => {
    const status = { policyStatus: 'active', mode: 'protect', conditions: [condition] };
    expect(Value.Check(PolicyStatus, status)).toBe(true);
    expect(Value.Check(PolicyStatus, { policyStatus: 'pending', loadError: 'HTTP 404' })).toBe(
      true,
    );
  });

  it('checks condition timestamps as RFC 3339', () => {
    const bad = { conditions: [{ ...condition, lastTransitionTime: 'yesterday' }] };
    expect(Value.Check(PolicyStatus, bad)).toBe(false);
    const offset = {
      conditions: [{ ...condition, lastTransitionTime: '2025-01-02T03:04:05.123+02:00' }],
    };
    expect(Value.Check(PolicyStatus, offset)).toBe(true);
  });
});

describe('PolicyServerSpec', () => {
  it('accepts Kubewarden fields, int-or-string and quantities', () => {
    const spec = {
      image: 'ghcr.io/kubewarden/policy-server:v1.20.0',
      replicas: 3,
      maxUnavailable: '25%',
      limits: { cpu: '500m', memory: '1Gi' },
      requests: { cpu: 1 },
      env: [{ name: 'KUBEWARDEN_LOG_LEVEL', value: 'debug' }],
      sourceAuthorities: { 'registry.local:5000': ['-----BEGIN CERTIFICATE-----'] },
      securityContexts: { container: { readOnlyRootFilesystem: true } },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'policy', effect: 'NoSchedule' }],
    };
    expect(schemaErrors(PolicyServerSpec, spec, 'spec')).toEqual([]);
  });

  it('refuses a malformed quantity and a missing image', () => {
    const errors = schemaErrors(PolicyServerSpec, { replicas: 1, limits: { cpu: 'lots' } }, 'spec');
    expect(errors.map((e) => e.path)).toEqual(['spec.image', 'spec.limits.cpu']);
  });
});
