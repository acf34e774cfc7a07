import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isPalisadeError, type FieldError } from '../../shared/errors.js';
import { generateKeyPair } from './keys.js';
import { parseVerificationConfig, verificationConfigFromDocument } from './verification-config.js';
import { thrown } from '../../../test/support/errors.js';

const { publicKey: PEM } = generateKeyPair();
const indent = (text: string, spaces: number): string =>
  text
    .trim()
    .split('\n')
    .map((l) => ' '.repeat(spaces) + l)
    .join('\n');

function fieldsOf(fn: () => unknown): readonly FieldError[] {
  return thrown(fn, 'verification_config_invalid').fields;
}

describe('parseVerificationConfig', () => {
  it('reads the Kubewarden example with its defaults, frozen', () => {
    const config = parseVerificationConfig(`
apiVersion: v1
allOf:
  - kind: githubAction
    owner: kubewarden
    repo:
    annotations:
      env: prod
anyOf:
  signatures:
  - kind: pubKey
    owner: alice
    key: |
${indent(PEM, 6)}
    annotations:
      env: prod
  - kind: genericIssuer
    issuer: https://token.actions.githubusercontent.com
    subject:
      urlPrefix: https://github.com/kubewarden
  - kind: genericIssuer
    issuer: https://token.actions.githubusercontent.com
    subject:
      equal: https://github.com/kubewarden/policies/.github/workflows/release.yml@refs/heads/main
`);
    expect(config.allOf).toEqual([
      { kind: 'githubAction', owner: 'kubewarden', annotations: { env: 'prod' } },
    ]);
    expect(config.anyOf?.minimumMatches).toBe(1);
    const [pub, prefix, equal] = config.anyOf?.signatures ?? [];
    expect(pub).toMatchObject({ kind: 'pubKey', owner: 'alice', annotations: { env: 'prod' } });
    expect(pub?.kind === 'pubKey' && pub.publicKey.asymmetricKeyType).toBe('ec');
    expect(prefix).toEqual({
      kind: 'genericIssuer',
      issuer: 'https://token.actions.githubusercontent.com',
      subject: { urlPrefix: 'https://github.com/kubewarden/' },
    });
    expect(equal).toMatchObject({
      subject: { equal: expect.stringMatching(/@refs\/heads\/main$/) as unknown },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.anyOf?.signatures)).toBe(true);
    expect(Object.isFrozen(pub)).toBe(true);
  });

  it('reads JSON too, with an explicit minimumMatches and empty allOf', () => {
    const config = parseVerificationConfig(
      JSON.stringify({
        apiVersion: 'v1',
        allOf: [],
        anyOf: {
          minimumMatches: 2,
          signatures: [
            { kind: 'pubKey', key: PEM },
            { kind: 'pubKey', key: PEM },
          ],
        },
      }),
    );
    expect(config.allOf).toEqual([]);
    expect(config.anyOf?.minimumMatches).toBe(2);
  });

  it('keeps a urlPrefix that already ends with a slash', () => {
    const config = verificationConfigFromDocument({
      apiVersion: 'v1',
      allOf: [
        {
          kind: 'genericIssuer',
          issuer: 'i',
          subject: { urlPrefix: 'https://github.com/kubewarden/' },
        },
      ],
    });
    expect(config.allOf?.[0]).toMatchObject({
      subject: { urlPrefix: 'https://github.com/kubewarden/' },
    });
  });

  it('names every problem by its field path', () => {
    const fields = fieldsOf(() =>
      verificationConfigFromDocument({
        apiVersion: 'v1',
        allOf: [
          { kind: 'pubKey', key: PEM, extra: true },
          { kind: 'githubAction' },
          { kind: 'gitlab' },
          { owner: 'x' },
          'pubKey',
        ],
        anyOf: {
          signatures: [
            { kind: 'pubKey', key: PEM, annotations: { env: 1 } },
            { kind: 'pubKey', key: 'not a key' },
            { kind: 'genericIssuer', issuer: 'i', subject: { equal: 'a', urlPrefix: 'b' } },
            { kind: 'genericIssuer', issuer: 'i', subject: { urlPrefix: 'not a url' } },
          ],
        },
      }),
    );
    expect(fields).toEqual([
      { path: 'allOf[0].extra', message: 'is not a known field' },
      { path: 'allOf[1].owner', message: 'is required' },
      { path: 'allOf[2].kind', message: 'must be one of pubKey, genericIssuer, githubAction' },
      { path: 'allOf[3].kind', message: 'is required' },
      { path: 'allOf[4]', message: 'must be a map' },
      { path: 'anyOf.signatures[0].annotations.env', message: 'must be a string' },
      { path: 'anyOf.signatures[1].key', message: 'is not PEM (no matching BEGIN/END lines)' },
      {
        path: 'anyOf.signatures[2].subject',
        message: 'must be {equal: <subject>} or {urlPrefix: <URL>}',
      },
      { path: 'anyOf.signatures[3].subject.urlPrefix', message: '"not a url" is not a URL' },
    ]);
  });

  it('puts the file name and the paths in the message', () => {
    try {
      parseVerificationConfig(
        'apiVersion: v1\nallOf:\n- kind: pubKey\n  key: x\n',
        'verification.yml',
      );
      expect.unreachable();
    } catch (e) {
      expect(isPalisadeError(e, 'verification_config_invalid')).toBe(true);
      expect((e as Error).message).toBe(
        'verification.yml: invalid verification config: allOf[0].key: is not PEM (no matching BEGIN/END lines)',
      );
    }
  });

  it('refuses a non-P-256 key where it is written', () => {
    const { publicKey: rsa } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const fields = fieldsOf(() =>
      verificationConfigFromDocument({
        apiVersion: 'v1',
        anyOf: { signatures: [{ kind: 'pubKey', key: rsa }] },
      }),
    );
    expect(fields[0]?.path).toBe('anyOf.signatures[0].key');
    expect(fields[0]?.message).toMatch(
      /^is a rsa key; Palisade signs and verifies with ECDSA P-256 keys only/,
    );
  });

  it.each([
    ['no apiVersion', { allOf: [] }, 'apiVersion', 'is required'],
    ['another apiVersion', { apiVersion: 'v2', allOf: [] }, 'apiVersion', 'must be v1'],
    [
      'an unknown top-level field',
      { apiVersion: 'v1', oneOf: [] },
      'oneOf',
      'is not a known field',
    ],
    ['a list as anyOf', { apiVersion: 'v1', anyOf: [] }, 'anyOf', 'must be a map'],
    [
      'a negative minimumMatches',
      { apiVersion: 'v1', anyOf: { minimumMatches: -1, signatures: [] } },
      'anyOf.minimumMatches',
      'must be a whole number from 0 to 255',
    ],
  ])('refuses %s', (_name, doc, path, message) => {
    expect(fieldsOf(() => verificationConfigFromDocument(doc))[0]).toEqual({ path, message });
  });

  it('refuses a config that requires nothing or cannot be met', () => {
    const none = {
      path: '(document)',
      message: expect.stringMatching(/^requires no signature/) as unknown,
    };
    expect(fieldsOf(() => verificationConfigFromDocument({ apiVersion: 'v1' }))).toEqual([none]);
    expect(fieldsOf(() => verificationConfigFromDocument({ apiVersion: 'v1', allOf: [] }))).toEqual(
      [none],
    );
    expect(
      fieldsOf(() =>
        verificationConfigFromDocument({ apiVersion: 'v1', allOf: null, anyOf: null }),
      ),
    ).toEqual([none]);
    expect(
      fieldsOf(() =>
        verificationConfigFromDocument({
          apiVersion: 'v1',
          anyOf: { minimumMatches: 0, signatures: [{ kind: 'pubKey', key: PEM }] },
        }),
      ),
    ).toEqual([none]);
    expect(
      fieldsOf(() =>
        verificationConfigFromDocument({
          apiVersion: 'v1',
          anyOf: { minimumMatches: 2, signatures: [{ kind: 'pubKey', key: PEM }] },
        }),
      ),
    ).toEqual([
      {
        path: 'anyOf.minimumMatches',
        message: 'is 2 but anyOf lists only 1 signature(s), so nothing could verify',
      },
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    try {
      parseVerificationConfig('apiVersion: v1\nallOf: [\n', 'verification.yml');
      expect.unreachable();
    } catch (e) {
      expect(isPalisadeError(e, 'verification_config_invalid')).toBe(true);
      expect((e as Error).message).toMatch(/^verification\.yml:\d+:\d+: not YAML: /);
    }
  });
});
