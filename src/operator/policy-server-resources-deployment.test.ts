import { describe, expect, it } from 'vitest';
import {
  SOURCES_HASH_ANNOTATION,
  TLS_HASH_ANNOTATION,
  policyServerDeployment,
  policyServerResources,
  type PolicyServerSpecInput,
} from './policy-server-resources.js';
import { LABELS, META, ctx, server } from './policy-server-resources.testdata.js';

describe('policyServerDeployment', () => {
  it('runs `serve` against the ConfigMap, with TLS from the Secret and safe defaults', () => {
    const d = policyServerDeployment(server(), ctx);
    expect(d.metadata).toEqual(META);
    expect(d.spec?.replicas).toBe(2);
    expect(d.spec?.selector).toEqual({
      matchLabels: {
        'app.kubernetes.io/name': 'palisade-policy-server',
        'app.kubernetes.io/instance': 'default',
      },
    });
    expect(d.spec?.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' },
    });
    const pod = d.spec?.template.spec;
    expect(d.spec?.template.metadata?.labels).toEqual(LABELS);
    expect(pod?.serviceAccountName).toBe('policy-server-default');
    expect(pod?.automountServiceAccountToken).toBe(true);
    expect(pod?.terminationGracePeriodSeconds).toBe(45);
    expect(pod?.securityContext).toEqual({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod?.volumes).toEqual([
      {
        name: 'pki',
        secret: {
          secretName: 'policy-server-default',
          items: [
            { key: 'tls.crt', path: 'tls.crt' },
            { key: 'tls.key', path: 'tls.key' },
          ],
        },
      },
      { name: 'tmp', emptyDir: {} },
    ]);
    for (const absent of ['affinity', 'tolerations', 'priorityClassName', 'imagePullSecrets']) {
      expect(pod).not.toHaveProperty(absent);
    }
    const c = pod?.containers[0];
    expect(pod?.containers).toHaveLength(1);
    expect(c?.name).toBe('policy-server');
    expect(c?.image).toBe('ghcr.io/palisade/palisade:1.0.0');
    expect(c?.args).toEqual([
      'serve',
      '--policies-configmap',
      'palisade-system/policy-server-default',
      '--cert-file',
      '/pki/tls.crt',
      '--key-file',
      '/pki/tls.key',
      '--port',
      '8443',
      '--addr',
      '0.0.0.0',
      '--log-fmt',
      'json',
      '--policies-download-dir',
      '/tmp/palisade/store',
    ]);
    expect(c?.ports).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
    expect(c?.readinessProbe?.httpGet).toEqual({
      path: '/readiness',
      port: 'https',
      scheme: 'HTTPS',
    });
    expect(c?.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(c?.env).toEqual([{ name: 'PALISADE_CACHE_DIR', value: '/tmp/palisade' }]);
    expect(c?.volumeMounts).toEqual([
      { name: 'pki', mountPath: '/pki', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(c?.securityContext).toEqual({
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c).not.toHaveProperty('resources');
  });

  it('never depends on the policies; a certificate rotation changes only the TLS hash', () => {
    const a = policyServerResources(server(), ctx, 'policy-a: {}');
    const b = policyServerResources(server(), ctx, 'policy-b: {}');
    expect(a.deployment).toEqual(b.deployment);
    expect(a.configMap.data).not.toEqual(b.configMap.data);
    const annotations = a.deployment.spec?.template.metadata?.annotations;
    expect(Object.keys(annotations ?? {})).toEqual([TLS_HASH_ANNOTATION]);
    expect(annotations?.[TLS_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    const rotated = policyServerDeployment(server(), { ...ctx, servingCertPem: 'CERT2' });
    expect(rotated.spec?.template.metadata?.annotations?.[TLS_HASH_ANNOTATION]).not.toBe(
      annotations?.[TLS_HASH_ANNOTATION],
    );
    const withoutHash = (d: typeof rotated) => {
      const copy = structuredClone(d);
      delete copy.spec?.template.metadata?.annotations?.[TLS_HASH_ANNOTATION];
      return copy;
    };
    expect(withoutHash(rotated)).toEqual(withoutHash(a.deployment));
  });

  it('mounts sources, verification config and registry credentials when the spec names them', () => {
    const d = policyServerDeployment(
      server({
        insecureSources: ['registry.local:5000'],
        verificationConfig: 'my-verification',
        imagePullSecret: 'registry-creds',
      }),
      ctx,
    );
    const pod = d.spec?.template.spec;
    const c = pod?.containers[0];
    expect(c?.args?.slice(15)).toEqual([
      '--sources-path',
      '/sources/sources.yml',
      '--verification-path',
      '/verification/verification-config',
      '--docker-config-json-path',
      '/docker-config/config.json',
    ]);
    expect(pod?.volumes?.slice(2)).toEqual([
      {
        name: 'sources',
        configMap: {
          name: 'policy-server-default',
          items: [{ key: 'sources.yml', path: 'sources.yml' }],
        },
      },
      {
        name: 'verification',
        configMap: {
          name: 'my-verification',
          items: [{ key: 'verification-config', path: 'verification-config' }],
        },
      },
      {
        name: 'docker-config',
        secret: {
          secretName: 'registry-creds',
          items: [{ key: '.dockerconfigjson', path: 'config.json' }],
        },
      },
    ]);
    expect(c?.volumeMounts?.slice(2)).toEqual([
      { name: 'sources', mountPath: '/sources', readOnly: true },
      { name: 'verification', mountPath: '/verification', readOnly: true },
      { name: 'docker-config', mountPath: '/docker-config', readOnly: true },
    ]);
    // sources.yml is read at start-up: a change to it rolls the pods, like the certificate.
    const annotations = d.spec?.template.metadata?.annotations ?? {};
    expect(annotations[SOURCES_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    const other = policyServerDeployment(server({ insecureSources: ['other:5000'] }), ctx);
    expect(other.spec?.template.metadata?.annotations?.[SOURCES_HASH_ANNOTATION]).not.toBe(
      annotations[SOURCES_HASH_ANNOTATION],
    );
  });

  it('passes the pod settings of the spec through, user labels and annotations included', () => {
    const spec: Partial<PolicyServerSpecInput> = {
      image: '',
      webhookPort: 9443,
      labels: { team: 'security', 'app.kubernetes.io/instance': 'hijack' },
      annotations: { 'example.com/owner': 'security' },
      env: [
        { name: 'PALISADE_LOG_LEVEL', value: 'debug' },
        { name: 'PALISADE_CACHE_DIR', value: '/tmp/elsewhere' },
      ],
      securityContexts: { container: { runAsUser: 1000 }, pod: { fsGroup: 2000 } },
      affinity: { nodeAffinity: {} },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'policy', effect: 'NoSchedule' }],
      priorityClassName: 'system-cluster-critical',
      limits: { cpu: '1', memory: '512Mi' },
      requests: { cpu: '250m', memory: 256 * 2 ** 20 },
      serviceAccountName: 'context-reader',
    };
    const d = policyServerDeployment(server(spec), { ...ctx, imagePullSecrets: ['ghcr'] });
    const pod = d.spec?.template.spec;
    const c = pod?.containers[0];
    expect(c?.image).toBe('ghcr.io/palisade/palisade:default');
    expect(c?.args?.[8]).toBe('9443');
    expect(c?.ports?.[0]?.containerPort).toBe(9443);
    expect(c?.env).toEqual([
      { name: 'PALISADE_CACHE_DIR', value: '/tmp/elsewhere' },
      { name: 'PALISADE_LOG_LEVEL', value: 'debug' },
    ]);
    expect(c?.securityContext).toEqual({ runAsUser: 1000 });
    expect(pod?.securityContext).toEqual({ fsGroup: 2000 });
    expect(pod?.affinity).toEqual({ nodeAffinity: {} });
    expect(pod?.tolerations).toEqual(spec.tolerations);
    expect(pod?.priorityClassName).toBe('system-cluster-critical');
    expect(pod?.imagePullSecrets).toEqual([{ name: 'ghcr' }]);
    expect(pod?.serviceAccountName).toBe('context-reader');
    expect(c?.resources).toEqual({
      limits: { cpu: '1', memory: '512Mi' },
      requests: { cpu: '250m', memory: 256 * 2 ** 20 },
    });
    for (const labels of [d.metadata?.labels, d.spec?.template.metadata?.labels]) {
      expect(labels).toEqual({ team: 'security', ...LABELS });
    }
    expect(d.metadata?.annotations).toEqual({ 'example.com/owner': 'security' });
    expect(d.spec?.template.metadata?.annotations).toMatchObject({
      'example.com/owner': 'security',
    });
  });
});
