import { describe, expect, it } from 'vitest';
import { checkRow, err, testEnv, type Row } from './testkit.js';

// Kubernetes regex library (regex.go doc examples, apiextensions "stdlib regex functions").
const findRows: Row[] = [
  [`'abc 123'.find('[0-9]+')`, '123'],
  [`'abc 123'.find('xyz')`, ''],
  [`'123 abc 456'.findAll('[0-9]+')`, ['123', '456']],
  [`'123 abc 456'.findAll('[0-9]+', 0)`, []],
  [`'123 abc 456'.findAll('[0-9]+', 1)`, ['123']],
  [`'123 abc 456'.findAll('[0-9]+', -1)`, ['123', '456']],
  [`'123 abc 456'.findAll('xyz')`, []],
  [`'baaab'.findAll('a*')`, ['', 'aaa', '']],
  [`'abc'.find('b.')`, 'bc'],
  [`'hello'.find('(')`, err('missing closing )')],
  [`'hello'.findAll('[a-')`, err('missing closing ]')],
  [`'héllo wörld'.findAll('\\\\pL+')`, ['héllo', 'wörld']],
];

const matchesRows: Row[] = [
  [`'hubba'.matches('^h.*a$')`, true],
  [`'hubba'.matches('ubb')`, true],
  [`'hubba'.matches('^ubb')`, false],
  [`matches('hubba', 'ubb')`, true],
  [`matches('hubba', 'x')`, false],
  [`'ABC'.matches('(?i)^abc$')`, true],
  [`'ABC'.matches('^abc$')`, false],
  [`'héllo'.matches('^\\\\pL+$')`, true],
  [`'hello1'.matches('^\\\\pL+$')`, false],
  [`'abc'.matches('^[[:alpha:]]+$')`, true],
  [`'a1'.matches('^[[:alpha:]]+$')`, false],
  [`'foo'.matches('\\\\Afoo\\\\z')`, true],
  [`'abc'.matches('(a')`, err('missing closing )')],
  [`'abc'.matches('a(?=b)')`, err('invalid or unsupported Perl syntax')],
  [`'abc'.matches('(a)\\\\1')`, err('invalid escape sequence')],
  [`1.matches('a')`, err('no matching overload')],
  [`'a'.matches(1)`, err('no matching overload')],
  [`object.name.matches('^x')`, true],
  [`object.name.matches(object.bad)`, err('missing closing )')],
  [`object.count.matches('x')`, err("no matching overload for 'matches'")],
];

describe('regex library', () => {
  it.each(findRows)('%s', (...row) => {
    expect(checkRow(row)).toBeUndefined();
  });
  it.each(matchesRows)('%s', (...row) => {
    expect(checkRow(row, { object: { name: 'xy', bad: '(', count: 1n } })).toBeUndefined();
  });

  it('matches with RE2 in linear time where a backtracking engine explodes', () => {
    const input = 'a'.repeat(30) + '!';
    expect(checkRow([`'${input}'.matches('^(a+)+$')`, false])).toBeUndefined();
    const long = { object: { s: 'a'.repeat(5000) + '!' } };
    expect(checkRow([`object.s.matches('^(a+)+$')`, false], long)).toBeUndefined();
    expect(
      checkRow([`object.s.matches('^(a+)+$')`, true], { object: { s: 'a'.repeat(5000) } }),
    ).toBeUndefined();
  });

  it('rejects an invalid literal pattern when the expression is checked', () => {
    const result = testEnv().check(`'abc'.matches('(a')`);
    expect(result.valid).toBe(false);
    expect(result.error?.message).toContain('invalid regular expression');
    expect(testEnv().check(`object.name.matches('^a')`)).toEqual({ valid: true, type: 'bool' });
  });

  it('keeps the RE2 matches after the environment is cloned', () => {
    const child = testEnv().clone();
    child.registerFunction('extra(): int', () => 1n);
    expect(child.evaluate(`'ABC'.matches('(?i)abc')`)).toBe(true);
  });
});
