import { describe, expect, it } from 'vitest';
import type { PalisadeError } from '../../shared/errors.js';
import { generateKeyPair, loadPrivateKey } from './keys.js';
import { buildPayload } from './payload.js';
import { signPayload } from './signature.js';
import { verificationConfigFromDocument, type VerificationConfig } from './verification-config.js';
import { evaluateVerification, repositoryOf, type CosignSignature } from './verify.js';
import { thrown } from '../../../test/support/errors.js';

const DIGEST = `sha256:${'12'.repeat(32)}`;
const REF = 'ghcr.io/kubewarden/policies/pod-privileged';
const alice = generateKeyPair();
const bob = generateKeyPair();
const carol = generateKeyPair();

function signed(
  pair: { privateKey: string },
  input: {
    dockerReference?: string;
    manifestDigest?: string;
    annotations?: Record<string, string>;
  } = {},
): CosignSignature {
  const payload = buildPayload({ dockerReference: REF, manifestDigest: DIGEST, ...input });
  return { payload, signature: signPayload(payload, loadPrivateKey(pair.privateKey)) };
}

function config(doc: object): VerificationConfig {
  return verificationConfigFromDocument({ apiVersion: 'v1', ...doc });
}

const pubKey = (pair: { publicKey: string }, extra: object = {}) => ({
  kind: 'pubKey',
  key: pair.publicKey,
  ...extra,
});

function failure(
  fn: () => unknown,
  code: 'verification_failed' | 'verification_unsupported' = 'verification_failed',
): PalisadeError {
  return thrown(fn, code);
}

const expected = { dockerReference: `${REF}:v1.0.0`, manifestDigest: DIGEST };

describe('evaluateVerification', () => {
  it('is satisfied when every allOf key has signed the digest', () => {
    const cfg = config({ allOf: [pubKey(alice), pubKey(bob)] });
    const outcome = evaluateVerification(cfg, [signed(bob), signed(alice)], expected);
    expect(outcome.satisfied).toEqual(['allOf[0] (pubKey)', 'allOf[1] (pubKey)']);
  });

  it('names each unmet allOf entry', () => {
    const cfg = config({ allOf: [pubKey(alice), pubKey(bob, { owner: 'bob' })] });
    const e = failure(() => evaluateVerification(cfg, [signed(alice)], expected));
    expect(e.message).toBe(
      `signature verification failed for ${DIGEST} (1 signature(s) checked): ` +
        'allOf[1] (pubKey): no signature verifies with this key (owner bob)',
    );
    expect(e.fields).toEqual([
      { path: 'allOf[1] (pubKey)', message: 'no signature verifies with this key (owner bob)' },
    ]);
  });

  it('says when there are no signatures at all', () => {
    const e = failure(() => evaluateVerification(config({ allOf: [pubKey(alice)] }), [], expected));
    expect(e.message).toMatch(
      /\(the artifact has no signatures\): allOf\[0\] \(pubKey\): no signature verifies/,
    );
  });

  it('counts anyOf matches against minimumMatches', () => {
    const cfg = config({
      anyOf: { minimumMatches: 2, signatures: [pubKey(alice), pubKey(bob), pubKey(carol)] },
    });
    expect(evaluateVerification(cfg, [signed(alice), signed(carol)], expected).satisfied).toEqual([
      'anyOf.signatures[0] (pubKey)',
      'anyOf.signatures[2] (pubKey)',
    ]);
    const e = failure(() => evaluateVerification(cfg, [signed(alice)], expected));
    expect(e.message).toMatch(
      /anyOf: 1 of 3 signatures matched, minimumMatches is 2; anyOf\.signatures\[1\] \(pubKey\): no signature/,
    );
    const one = config({ anyOf: { signatures: [pubKey(alice), pubKey(bob)] } });
    expect(failure(() => evaluateVerification(one, [signed(carol)], expected)).message).toMatch(
      /anyOf: 0 of 2 signatures matched, minimumMatches is 1/,
    );
  });

  it('needs allOf and anyOf both when both are given', () => {
    const cfg = config({ allOf: [pubKey(alice)], anyOf: { signatures: [pubKey(bob)] } });
    expect(
      evaluateVerification(cfg, [signed(alice), signed(bob)], expected).satisfied,
    ).toHaveLength(2);
    expect(
      failure(() => evaluateVerification(cfg, [signed(bob)], expected)).fields.map((f) => f.path),
    ).toEqual(['allOf[0] (pubKey)']);
  });

  describe('does not count a signature that', () => {
    const cfg = config({ allOf: [pubKey(alice, { annotations: { env: 'prod' } })] });
    const good = { annotations: { env: 'prod' } };

    it('passes when everything matches (the control case)', () => {
      expect(evaluateVerification(cfg, [signed(alice, good)], expected).satisfied).toHaveLength(1);
    });

    it('covers a changed payload byte', () => {
      const s = signed(alice, good);
      const payload = Buffer.from(s.payload);
      payload[payload.indexOf('prod')] = 'P'.charCodeAt(0);
      expect(
        failure(() => evaluateVerification(cfg, [{ ...s, payload }], expected)).message,
      ).toMatch(/no signature verifies with this key/);
    });

    it('was made by another key', () => {
      expect(
        failure(() => evaluateVerification(cfg, [signed(bob, good)], expected)).message,
      ).toMatch(/no signature verifies/);
    });

    it('signs another digest', () => {
      const other = `sha256:${'34'.repeat(32)}`;
      expect(
        failure(() =>
          evaluateVerification(cfg, [signed(alice, { ...good, manifestDigest: other })], expected),
        ).message,
      ).toMatch(`1 signature(s) verify with this key but they sign ${other}, not ${DIGEST}`);
    });

    it('names another repository', () => {
      const e = failure(() =>
        evaluateVerification(
          cfg,
          [signed(alice, { ...good, dockerReference: 'ghcr.io/evil/pod-privileged' })],
          expected,
        ),
      );
      expect(e.message).toMatch(`they name ghcr.io/evil/pod-privileged, not ${REF}:v1.0.0`);
    });

    it('lacks a required annotation or has another value', () => {
      expect(failure(() => evaluateVerification(cfg, [signed(alice)], expected)).message).toMatch(
        /annotation env=prod is missing/,
      );
      expect(
        failure(() =>
          evaluateVerification(cfg, [signed(alice, { annotations: { env: 'dev' } })], expected),
        ).message,
      ).toMatch(/annotation env=prod is "dev"/);
    });

    it('has a payload that is not cosign’s', () => {
      const payload = Buffer.from('{"critical":{}}');
      const signature = signPayload(payload, loadPrivateKey(alice.privateKey));
      expect(
        failure(() => evaluateVerification(cfg, [{ payload, signature }], expected)).message,
      ).toMatch(
        /but the payload is unusable: not a cosign simple-signing payload: critical\.identity is missing/,
      );
    });
  });

  it('is satisfied by one good signature among bad ones', () => {
    const cfg = config({ allOf: [pubKey(alice)] });
    const wrongDigest = signed(alice, { manifestDigest: `sha256:${'56'.repeat(32)}` });
    expect(
      evaluateVerification(cfg, [wrongDigest, signed(bob), signed(alice)], expected).satisfied,
    ).toHaveLength(1);
  });

  it('accepts the repository however it is spelled, and any repository when none is expected', () => {
    const cfg = config({ allOf: [pubKey(alice)] });
    const hub = signed(alice, { dockerReference: 'index.docker.io/library/busybox' });
    expect(
      evaluateVerification(cfg, [hub], { dockerReference: 'busybox:1.36', manifestDigest: DIGEST })
        .satisfied,
    ).toHaveLength(1);
    const copied = signed(alice, { dockerReference: 'registry.local/mirror/pod-privileged' });
    expect(evaluateVerification(cfg, [copied], { manifestDigest: DIGEST }).satisfied).toHaveLength(
      1,
    );
  });

  it('compares numeric and boolean annotations by their JSON spelling, as sigstore-rs does', () => {
    const cfg = config({
      allOf: [pubKey(alice, { annotations: { build: '42', signed: 'true' } })],
    });
    const payload = Buffer.from(
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': REF },
          image: { 'docker-manifest-digest': DIGEST },
          type: 'cosign container image signature',
        },
        optional: { build: 42, signed: true },
      }),
    );
    const signature = signPayload(payload, loadPrivateKey(alice.privateKey));
    expect(evaluateVerification(cfg, [{ payload, signature }], expected).satisfied).toHaveLength(1);
  });

  it('refuses keyless entries, naming them, before checking anything', () => {
    const cfg = config({
      allOf: [pubKey(alice)],
      anyOf: {
        signatures: [pubKey(bob), { kind: 'githubAction', owner: 'kubewarden' }],
      },
    });
    const e = failure(
      () => evaluateVerification(cfg, [signed(alice), signed(bob)], expected),
      'verification_unsupported',
    );
    expect(e.message).toBe(
      'anyOf.signatures[1] (githubAction): keyless (Fulcio/Rekor) signature verification needs the internet ' +
        'and is not supported offline; verify with pubKey entries instead',
    );
    const issuer = config({
      allOf: [
        {
          kind: 'genericIssuer',
          issuer: 'https://accounts.google.com',
          subject: { equal: 'a@b.c' },
        },
      ],
    });
    expect(
      failure(() => evaluateVerification(issuer, [], expected), 'verification_unsupported').message,
    ).toMatch(/^allOf\[0\] \(genericIssuer\): keyless/);
  });

  it('refuses a config that says nothing, even one built by hand', () => {
    expect(failure(() => evaluateVerification({}, [signed(alice)], expected)).message).toBe(
      'the verification config requires no signature',
    );
  });
});

describe('repositoryOf', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox'],
    ['docker.io/library/busybox:1.36', 'docker.io/library/busybox'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox'],
    ['ghcr.io/a/b:v1@sha256:00', 'ghcr.io/a/b'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b'],
    ['localhost/a', 'localhost/a'],
    ['kubewarden/policy', 'docker.io/kubewarden/policy'],
  ])('%s is %s', (input, want) => {
    expect(repositoryOf(input)).toBe(want);
  });
});
