import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { RegistryClient } from '../oci/client.js';
import { loadPrivateKey, loadPublicKey } from '../oci/cosign/keys.js';
import {
  parseVerificationConfig,
  verificationConfigFromDocument,
} from '../oci/cosign/verification-config.js';
import { registryUrl } from '../oci/reference.js';
import { signImage, verifyImage } from '../oci/signing.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import { parseAnnotations, registryReference } from './registry.js';

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PalisadeError(
      'file_unreadable',
      `cannot read the ${what} ${path}: ${errorMessage(e)}`,
    );
  }
}

/** `palisade sign`: cosign-compatible key-based signature of a policy in a registry. */
export async function signCommand(
  client: RegistryClient,
  reference: string,
  options: {
    readonly keyPath: string;
    readonly password?: string;
    /** `key=value` pairs. */
    readonly annotations: readonly string[];
  },
): Promise<string> {
  const key = loadPrivateKey(
    await readText(options.keyPath, 'key'),
    options.password,
    options.keyPath,
  );
  const ref = registryReference(reference);
  const result = await signImage(client, ref, key, {
    annotations: parseAnnotations(options.annotations),
    publicKey: createPublicKey(key),
  });
  const what = result.duplicate ? 'already signed with this key' : 'signed';
  return `${registryUrl({ ...ref, digest: result.digest })} ${what}: ${result.signatureReference}\n`;
}

/**
 * `palisade verify`: with `--key` every key must have signed (kwctl's `-k`), with the
 * annotations asked for; with a verification config, its allOf/anyOf rules.
 */
export async function verifyCommand(
  client: RegistryClient,
  reference: string,
  options: {
    readonly keyPaths: readonly string[];
    readonly configPath?: string;
    /** `key=value` pairs. */
    readonly annotations: readonly string[];
  },
): Promise<string> {
  const annotations = parseAnnotations(options.annotations);
  if ((options.keyPaths.length === 0) === (options.configPath === undefined)) {
    throw new PalisadeError(
      'config_invalid',
      'give --key (one or more) or --verification-config-path, not both',
    );
  }
  const config =
    options.configPath !== undefined
      ? parseVerificationConfig(
          await readText(options.configPath, 'verification config'),
          options.configPath,
        )
      : verificationConfigFromDocument(
          {
            apiVersion: 'v1',
            allOf: await Promise.all(
              options.keyPaths.map(async (path) => {
                const key = await readText(path, 'public key');
                loadPublicKey(key, path);
                return {
                  kind: 'pubKey',
                  owner: path,
                  key,
                  ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
                };
              }),
            ),
          },
          '--key',
        );
  const ref = registryReference(reference);
  const outcome = await verifyImage(client, ref, config);
  return `${registryUrl({ ...ref, digest: outcome.digest })} verified: ${outcome.satisfied.join(', ')}\n`;
}
