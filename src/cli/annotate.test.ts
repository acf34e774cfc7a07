import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { METADATA_SECTION, readModuleMetadata } from '../api/metadata.js';
import { parseModule } from '../runtime/wasm/binary.js';
import { isPalisadeError } from '../shared/errors.js';
import { annotateModule } from './annotate.js';
import { formatInspection, inspectModule } from './inspect.js';

const wabt = await wabtInit();

function wat(text: string): Uint8Array {
  const m = wabt.parseWat('test.wat', text);
  try {
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}

const WAPC = wat(`(module
  (import "wapc" "__guest_request" (func (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))`);

const REGO = wat(`(module
  (memory (export "memory") 1)
  (func (export "opa_eval") (result i32) (i32.const 0))
  (func (export "opa_malloc") (param i32) (result i32) (i32.const 0)))`);

const JAVY = wat(`(module
  (import "kubewarden:javy/host" "call" (func (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))`);

const METADATA_YML = `
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
    operations: ["CREATE", "UPDATE"]
mutating: false
contextAwareResources:
  - apiVersion: v1
    kind: Namespace
annotations:
  io.kubewarden.policy.title: pod-guard
  io.kubewarden.policy.description: Rejects privileged pods
  io.kubewarden.policy.severity: high
  io.kubewarden.kwctl: 1.20.0
`;

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('annotateModule → inspectModule', () => {
  it('embeds validated metadata that inspect reads back', async () => {
    const out = await annotateModule({
      wasm: WAPC,
      metadataYaml: METADATA_YML,
      usageMarkdown: '# pod-guard\n\nDeny privileged pods.\n',
      where: 'metadata.yml',
      toolVersion: '0.1.0',
    });
    expect(WebAssembly.validate(out)).toBe(true);
    const inspection = inspectModule(out, 'annotated.wasm');
    expect(inspection).toMatchObject({
      size: out.length,
      executionMode: 'kubewarden-wapc',
      executionModeSource: 'metadata',
      exports: [
        { name: 'memory', kind: 'memory' },
        { name: '__guest_call', kind: 'function' },
      ],
      imports: [{ module: 'wapc', name: '__guest_request', kind: 'function' }],
    });
    expect(inspection.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(inspection.metadata).toEqual({
      protocolVersion: 'v1',
      rules: [
        {
          apiGroups: [''],
          apiVersions: ['v1'],
          resources: ['pods'],
          operations: ['CREATE', 'UPDATE'],
        },
      ],
      annotations: {
        'io.kubewarden.policy.description': 'Rejects privileged pods',
        'io.kubewarden.policy.severity': 'high',
        'io.kubewarden.policy.title': 'pod-guard',
        'io.kubewarden.policy.usage': '# pod-guard\n\nDeny privileged pods.\n',
        'io.palisade.cli': '0.1.0',
      },
      mutating: false,
      backgroundAudit: true,
      executionMode: 'kubewarden-wapc',
      policyType: 'kubernetes',
      contextAwareResources: [{ apiVersion: 'v1', kind: 'Namespace' }],
    });
    const text = formatInspection(inspection);
    expect(text).toContain('  execution mode:             kubewarden-wapc (metadata)\n');
    expect(text).toContain('  title:                      pod-guard\n');
    expect(text).toContain('  context-aware resources:    v1/Namespace\n');
    expect(text).toContain('Annotations\n  io.kubewarden.policy.severity: high\n');
    expect(text).toContain('Rules\n  - apiGroups:\n      - ""\n');
    expect(text).toContain('Usage\n  # pod-guard\n\n  Deny privileged pods.\n');
  });

  it('replaces the metadata of a module annotated before', async () => {
    const first = await annotateModule({ wasm: WAPC, metadataYaml: METADATA_YML, where: 'm' });
    const again = await annotateModule({
      wasm: first,
      metadataYaml: METADATA_YML.replace('mutating: false', 'mutating: true'),
      where: 'm',
    });
    const sections = parseModule(again).customSections.filter((s) => s.name === METADATA_SECTION);
    expect(sections).toHaveLength(1);
    expect(readModuleMetadata(again)?.mutating).toBe(true);
  });

  it('records what the protocol_version probe answers', async () => {
    const seen: Uint8Array[] = [];
    const out = await annotateModule({
      wasm: WAPC,
      metadataYaml: `${METADATA_YML}protocolVersion: Unknown\n`,
      where: 'm',
      probeProtocolVersion: (bytes) => {
        seen.push(bytes);
        return Promise.resolve('v1');
      },
    });
    expect(seen).toEqual([WAPC]);
    expect(readModuleMetadata(out)?.protocolVersion).toBe('v1');
    const failed = await rejection(
      annotateModule({
        wasm: WAPC,
        metadataYaml: METADATA_YML,
        where: 'm',
        probeProtocolVersion: () => Promise.resolve('v2'),
      }),
    );
    expect(failed.message).toMatch(/protocolVersion: the module answered "v2"/);
  });

  it('checks the execution mode against the module, as kwctl does', async () => {
    const opa = await annotateModule({
      wasm: REGO,
      metadataYaml: `${METADATA_YML}executionMode: gatekeeper\n`,
      where: 'm',
    });
    expect(readModuleMetadata(opa)).toMatchObject({
      executionMode: 'gatekeeper',
      protocolVersion: 'Unknown',
    });
    const notRego = await rejection(
      annotateModule({
        wasm: WAPC,
        metadataYaml: `${METADATA_YML}executionMode: opa\n`,
        where: 'm',
      }),
    );
    expect(notRego.message).toMatch(
      /executionMode: is opa, but the module was not built from Rego/,
    );
    const rego = await rejection(
      annotateModule({ wasm: REGO, metadataYaml: METADATA_YML, where: 'm' }),
    );
    expect(rego.message).toMatch(
      /executionMode: is kubewarden-wapc, but the module was built from Rego/,
    );
  });

  it("renames Javy's host-call import for WASI policies", async () => {
    const out = await annotateModule({
      wasm: JAVY,
      metadataYaml: `${METADATA_YML}executionMode: wasi\n`,
      where: 'm',
    });
    const info = parseModule(out);
    expect(info.imports.map((i) => `${i.module}.${i.name}`)).toEqual([
      'host.call',
      'wasi_snapshot_preview1.fd_write',
    ]);
    expect(readModuleMetadata(out)?.protocolVersion).toBe('Unknown');
  });

  it('reports YAML and schema errors with the file name', async () => {
    const yaml = await rejection(
      annotateModule({ wasm: WAPC, metadataYaml: 'rules: [', where: 'metadata.yml' }),
    );
    expect(isPalisadeError(yaml, 'metadata_invalid')).toBe(true);
    expect(yaml.message).toMatch(/^metadata.yml:\d+:\d+: /);
    const schema = await rejection(
      annotateModule({
        wasm: WAPC,
        metadataYaml: METADATA_YML.replace('"UPDATE"', '"PATCH"'),
        where: 'metadata.yml',
      }),
    );
    expect(isPalisadeError(schema, 'metadata_invalid') && schema.fields).toEqual([
      {
        path: 'rules[0].operations[1]',
        message: 'must be one of CREATE, UPDATE, DELETE, CONNECT, *',
      },
    ]);
  });
});
