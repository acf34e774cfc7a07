import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../oci/client.js';
import { generateKeyPair, loadPrivateKey } from '../../oci/cosign/keys.js';
import { parseImageReference } from '../../oci/reference.js';
import { signImage } from '../../oci/signing.js';
import { silentLogger } from '../../shared/logger.js';
import { startRegistry, type TestRegistry } from '../../../test/support/registry.js';
import { createHostCapabilities } from './host-capabilities.js';
import type { CapabilityGrant, HostCallResult } from './types.js';

const grant: CapabilityGrant = {
  policyId: 'verify-test',
  contextAwareResources: [],
  hostCapabilities: ['oci/*'],
};

function call(operation: string, payload: unknown): Promise<HostCallResult> {
  return createHostCapabilities({ logger: silentLogger() }).call(
    grant,
    {
      binding: 'kubewarden',
      namespace: 'oci',
      operation,
      payload: new TextEncoder().encode(JSON.stringify(payload)),
    },
    Date.now() + 20_000,
  );
}

describe('oci/v1/verify and oci/v2/verify with public keys, against a real registry', () => {
  let registry: TestRegistry;
  let image: string;
  let digest: string;
  const signer = generateKeyPair();
  const stranger = generateKeyPair();
  beforeAll(async () => {
    registry = await startRegistry();
    ({ digest } = await registry.pushImage('apps/web', 'v1'));
    image = `${registry.host}/apps/web:v1`;
    await signImage(
      new RegistryClient({ now: Date.now }),
      parseImageReference(image),
      loadPrivateKey(signer.privateKey),
      { annotations: { team: 'web' } },
    );
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('answers is_trusted with the digest when every key signed (v2, annotations checked)', async () => {
    const result = await call('v2/verify', {
      type: 'SigstorePubKeyVerify',
      image,
      pub_keys: [signer.publicKey],
      annotations: { team: 'web' },
    });
    expect(result.ok && JSON.parse(new TextDecoder().decode(result.payload))).toEqual({
      is_trusted: true,
      digest,
    });
  });

  it('fails, naming why, for a key that did not sign or an annotation that is missing (v1)', async () => {
    const wrongKey = await call('v1/verify', {
      SigstorePubKeyVerify: { image, pub_keys: [stranger.publicKey], annotations: null },
    });
    expect(!wrongKey.ok && wrongKey.error).toContain('no signature verifies with this key');
    const wrongAnnotation = await call('v1/verify', {
      SigstorePubKeyVerify: { image, pub_keys: [signer.publicKey], annotations: { team: 'db' } },
    });
    expect(wrongAnnotation.ok).toBe(false);
  });

  it('says keyless verification is not available offline', async () => {
    const result = await call('v2/verify', {
      type: 'SigstoreGithubActionsVerify',
      image,
      owner: 'kubewarden',
      repo: null,
      annotations: null,
    });
    expect(!result.ok && result.error).toContain('not supported offline');
  });
});
