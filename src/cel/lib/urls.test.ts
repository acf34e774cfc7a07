import { describe, expect, it } from 'vitest';
import { checkRow, err, type Row } from './testkit.js';

// Kubernetes pkg/cel/library/urls.go doc examples and apiextensions "URL parsing" cases.
const rows: Row[] = [
  [`isURL('https://user:pass@example.com:80/path?query=val#fragment')`, true],
  [`isURL('/absolute-path')`, true],
  [`isURL('https://a:b:c/')`, false],
  [`isURL('../relative-path')`, false],
  [`isURL('')`, false],
  [`isURL('https://example.com/%zz')`, false],
  [`isURL('https://exa mple.com/')`, false],
  [`isURL('*')`, true],
  [
    `url('https://a:b:c/')`,
    err(
      'URL parse error during conversion from string: parse "https://a:b:c/": invalid port ":c" after host',
    ),
  ],
  [`url('../relative-path')`, err('invalid URI for request')],
  [`url('/path').getScheme()`, ''],
  [`url('https://example.com/').getScheme()`, 'https'],
  [`url('HTTPS://example.com/').getScheme()`, 'https'],
  [`url('https://example.com:80/').getHost()`, 'example.com:80'],
  [`url('https://example.com/').getHost()`, 'example.com'],
  [`url('https://[::1]:80/').getHost()`, '[::1]:80'],
  [`url('https://[::1]/').getHost()`, '[::1]'],
  [`url('/path').getHost()`, ''],
  [`url('https://example.com:80/').getHostname()`, 'example.com'],
  [`url('https://127.0.0.1:80/').getHostname()`, '127.0.0.1'],
  [`url('https://[::1]:80/').getHostname()`, '::1'],
  [`url('/path').getHostname()`, ''],
  [`url('https://example.com:80/').getPort()`, '80'],
  [`url('https://example.com/').getPort()`, ''],
  [`url('/path').getPort()`, ''],
  [`url('https://example.com/path').getEscapedPath()`, '/path'],
  [`url('https://example.com/path with spaces/').getEscapedPath()`, '/path%20with%20spaces/'],
  [`url('https://example.com/a%2Fb').getEscapedPath()`, '/a%2Fb'],
  [`url('https://example.com').getEscapedPath()`, ''],
  [`url('https://example.com/path#frag').getEscapedPath()`, '/path'],
  [
    `url('https://example.com/path?k1=a&k2=b&k2=c').getQuery() == {'k1': ['a'], 'k2': ['b', 'c']}`,
    true,
  ],
  [
    `url('https://example.com/path?key with spaces=value with spaces').getQuery() == {'key with spaces': ['value with spaces']}`,
    true,
  ],
  [`url('https://example.com/path?a=1+2&b=%41').getQuery() == {'a': ['1 2'], 'b': ['A']}`, true],
  [`url('https://example.com/path?').getQuery() == {}`, true],
  [`url('https://example.com/path').getQuery() == {}`, true],
  [`url('https://example.com/path?a=1#frag').getQuery() == {'a': ['1']}`, true],
  [`url('https://user:pass@example.com:80/path?query=val#fragment').getHostname()`, 'example.com'],
  [`url('https://example.com/') == url('https://example.com/')`, true],
  [`url(object.endpoint).getScheme() == 'https'`, true],
];

describe('URL library', () => {
  it.each(rows)('%s', (...row) => {
    expect(checkRow(row, { object: { endpoint: 'https://api.example.com/v1' } })).toBeUndefined();
  });
});
