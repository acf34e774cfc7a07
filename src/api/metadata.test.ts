import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { setCustomSection } from '../runtime/wasm/edit.js';
import type { FieldError } from '../shared/errors.js';
import {
  METADATA_SECTION,
  checkAnnotatedMetadata,
  metadataToJson,
  parseMetadata,
  readModuleMetadata,
} from './metadata.js';
import { thrown } from '../../test/support/errors.js';

const wabt = await wabtInit();
const EMPTY_MODULE = wabt.parseWat('empty.wat', '(module)').toBinary({}).buffer;

const POD_RULE = {
  apiGroups: [''],
  apiVersions: ['v1'],
  resources: ['pods'],
  operations: ['CREATE'],
};

function fieldsOf(fn: () => unknown): readonly FieldError[] {
  return thrown(fn, 'metadata_invalid').fields;
}

describe('parseMetadata', () => {
  it('applies Kubewarden defaults and freezes the result', () => {
    const m = parseMetadata({ rules: [POD_RULE], mutating: false }, 'metadata.yml');
    expect(m).toEqual({
      rules: [POD_RULE],
      mutating: false,
      backgroundAudit: true,
      executionMode: 'kubewarden-wapc',
      policyType: 'kubernetes',
      contextAwareResources: [],
    });
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.rules[0]?.operations)).toBe(true);
  });

  it('lists every shape error as a field path', () => {
    const fields = fieldsOf(() =>
      parseMetadata(
        {
          rules: [{ ...POD_RULE, operations: ['CREATE', 'PATCH'] }],
          executionMode: 'native',
          backgroundAudit: 'yes',
          contextAwareResources: [{ apiVersion: 'v1' }],
          annotations: { 'io.kubewarden.policy.version': 1.2 },
        },
        'metadata.yml',
      ),
    );
    expect(fields).toEqual(
      expect.arrayContaining([
        {
          path: 'rules[0].operations[1]',
          message: 'must be one of CREATE, UPDATE, DELETE, CONNECT, *',
        },
        { path: 'mutating', message: 'is required' },
        { path: 'executionMode', message: 'must be one of kubewarden-wapc, opa, gatekeeper, wasi' },
        { path: 'backgroundAudit', message: 'must be a boolean (true or false)' },
        { path: 'contextAwareResources[0].kind', message: 'is required' },
        { path: 'annotations["io.kubewarden.policy.version"]', message: 'must be a string' },
      ]),
    );
  });

  it('names the source and every problem in the message', () => {
    expect(() => parseMetadata({ rules: 'pods' }, 'policy/metadata.yml')).toThrow(
      /^policy\/metadata.yml: invalid policy metadata: mutating: is required; rules: must be a list$/,
    );
  });

  it('enforces "*" alone in groups, versions and operations', () => {
    const fields = fieldsOf(() =>
      parseMetadata(
        {
          rules: [
            {
              apiGroups: ['', '*'],
              apiVersions: [],
              resources: ['pods'],
              operations: ['*', 'CREATE'],
            },
          ],
          mutating: false,
        },
        'm',
      ),
    );
    expect(fields).toEqual([
      { path: 'rules[0].apiGroups', message: "no other elements can be defined when '*' is used" },
      { path: 'rules[0].apiVersions', message: 'must have at least 1 item' },
      { path: 'rules[0].operations', message: "no other elements can be defined when '*' is used" },
    ]);
  });

  it.each([
    [['*', 'a/b', 'a/*', '*/b'], undefined],
    [['a/*', 'a'], undefined],
    [['*', 'a'], "if '*' is present, must not specify other resources without subresources"],
    [['a/*', 'a/x'], "if 'a/*' is present, must not specify a/x"],
    [['*/a', 'x/a'], "if '*/a' is present, must not specify x/a"],
    [['*/*', 'a'], "if '*/*' is present, must not specify other resources"],
    [['pods', ''], 'empty resource is not allowed'],
  ])('checks resource wildcards like Kubernetes: %j', (resources, message) => {
    const doc = { rules: [{ ...POD_RULE, resources }], mutating: false };
    if (message === undefined) expect(() => parseMetadata(doc, 'm')).not.toThrow();
    else
      expect(fieldsOf(() => parseMetadata(doc, 'm'))).toEqual([
        { path: 'rules[0].resources', message },
      ]);
  });

  it('checks minimumKubewardenVersion is semver and reads null optionals as absent', () => {
    const doc = { rules: [], mutating: true, minimumKubewardenVersion: 'v1.30' };
    expect(fieldsOf(() => parseMetadata(doc, 'm'))).toEqual([
      {
        path: 'minimumKubewardenVersion',
        message: '"v1.30" is not a semantic version such as 1.30.0',
      },
    ]);
    const m = parseMetadata(
      { rules: [], mutating: true, annotations: null, hostCapabilities: null },
      'm',
    );
    expect(m.annotations).toBeUndefined();
    expect(m.hostCapabilities).toBeUndefined();
  });

  it('sorts and deduplicates sets as Kubewarden serialises them', () => {
    const m = parseMetadata(
      {
        rules: [],
        mutating: false,
        hostCapabilities: ['oci/*', 'net/*', 'oci/*'],
        contextAwareResources: [
          { apiVersion: 'v1', kind: 'Pod' },
          { apiVersion: 'apps/v1', kind: 'Deployment' },
          { apiVersion: 'v1', kind: 'Pod' },
        ],
        annotations: { z: '1', a: '2' },
        protocolVersion: 'v1',
      },
      'm',
    );
    expect(metadataToJson(m)).toBe(
      '{"protocolVersion":"v1","rules":[],"annotations":{"a":"2","z":"1"},"mutating":false,' +
        '"backgroundAudit":true,"executionMode":"kubewarden-wapc","policyType":"kubernetes",' +
        '"contextAwareResources":[{"apiVersion":"apps/v1","kind":"Deployment"},{"apiVersion":"v1","kind":"Pod"}],' +
        '"hostCapabilities":["net/*","oci/*"]}',
    );
  });
});

describe('checkAnnotatedMetadata', () => {
  it('requires a protocol version, v1 for waPC policies', () => {
    const base = { rules: [], mutating: false };
    expect(
      fieldsOf(() => {
        checkAnnotatedMetadata(parseMetadata(base, 'm'), 'm');
      }),
    ).toEqual([{ path: 'protocolVersion', message: 'is required' }]);
    const unknown = parseMetadata({ ...base, protocolVersion: 'Unknown' }, 'm');
    expect(
      fieldsOf(() => {
        checkAnnotatedMetadata(unknown, 'm');
      })[0]?.message,
    ).toMatch(/must be v1/);
    const rego = parseMetadata({ ...base, protocolVersion: 'Unknown', executionMode: 'opa' }, 'm');
    expect(() => {
      checkAnnotatedMetadata(rego, 'm');
    }).not.toThrow();
  });
});

describe('readModuleMetadata', () => {
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  it('is undefined for a module nobody annotated', () => {
    expect(readModuleMetadata(EMPTY_MODULE)).toBeUndefined();
  });

  it('reads the first section, ignoring unknown fields and annotate-time rules', () => {
    const doc = {
      protocolVersion: 'v1',
      rules: [{ ...POD_RULE, apiGroups: ['', '*'] }],
      mutating: true,
      labels: { old: 'kwctl' },
    };
    const m = readModuleMetadata(setCustomSection(EMPTY_MODULE, METADATA_SECTION, json(doc)));
    expect(m?.mutating).toBe(true);
    expect(m?.rules[0]?.apiGroups).toEqual(['', '*']);
    expect(m).not.toHaveProperty('labels');
  });

  it('reports a section that is not JSON or not metadata, naming the module', () => {
    const notJson = setCustomSection(EMPTY_MODULE, METADATA_SECTION, new TextEncoder().encode('{'));
    expect(() => readModuleMetadata(notJson, 'policy.wasm')).toThrow(
      /^policy.wasm: io.kubewarden.metadata section is not JSON/,
    );
    const wrong = setCustomSection(EMPTY_MODULE, METADATA_SECTION, json({ rules: [] }));
    expect(() => readModuleMetadata(wrong, 'policy.wasm')).toThrow(
      'policy.wasm: io.kubewarden.metadata section: invalid policy metadata: mutating: is required',
    );
  });
});
