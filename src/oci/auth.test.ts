import { describe, expect, it } from 'vitest';
import { basicAuthorization, parseChallenge, parseDockerConfig } from './auth.js';

describe('parseChallenge', () => {
  it('reads a Bearer challenge with several scopes in one parameter', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull,push repository:b:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token',
        service: 'registry',
        scope: 'repository:a:pull,push repository:b:pull',
      },
    });
  });

  it('reads a Basic challenge and ignores unknown schemes', () => {
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});

describe('parseDockerConfig', () => {
  const auth = Buffer.from('alice:s3cr:et').toString('base64');

  it('finds credentials by host, from auth or from username and password', () => {
    const lookup = parseDockerConfig(
      JSON.stringify({
        auths: {
          'https://ghcr.io': { auth },
          '127.0.0.1:5000': { username: 'bob', password: 'pw' },
          'https://index.docker.io/v1/': { auth },
        },
      }),
      'config.json',
    );
    expect(lookup('ghcr.io')).toEqual({ username: 'alice', password: 's3cr:et' });
    expect(lookup('127.0.0.1:5000')).toEqual({ username: 'bob', password: 'pw' });
    expect(lookup('registry-1.docker.io')).toEqual({ username: 'alice', password: 's3cr:et' });
    expect(lookup('quay.io')).toBeUndefined();
    expect(basicAuthorization({ username: 'bob', password: 'pw' })).toBe(
      `Basic ${Buffer.from('bob:pw').toString('base64')}`,
    );
  });

  it('names the file and the entry that is malformed', () => {
    expect(() => parseDockerConfig('{', '/etc/docker.json')).toThrow(
      /\/etc\/docker\.json: not JSON/,
    );
    expect(() =>
      parseDockerConfig(
        JSON.stringify({
          auths: { 'ghcr.io': { auth: Buffer.from('nocolon').toString('base64') } },
        }),
        'c.json',
      ),
    ).toThrow('c.json: auths["ghcr.io"].auth is not user:password');
  });
});
