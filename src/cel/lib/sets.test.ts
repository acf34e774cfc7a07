import { describe, expect, it } from 'vitest';
import { checkRow, err, type Row } from './testkit.js';

// cel-go ext/sets_test.go, plus ext/encoders_test.go. Mixed-type literals are wrapped in dyn()
// because this environment, like Kubernetes', keeps aggregate literals homogeneous.
const setsRows: Row[] = [
  [`sets.contains([], [])`, true],
  [`sets.contains([1], [])`, true],
  [`sets.contains([1], [1])`, true],
  [`sets.contains([1], [1, 1])`, true],
  [`sets.contains([1, 1], [1])`, true],
  [`sets.contains([2, 1], [1])`, true],
  [`sets.contains([1, 2, 3, 4], [2, 3])`, true],
  [`sets.contains([1], [dyn(1.0), dyn(1)])`, true],
  [`sets.contains([1, 2], [dyn(2u), dyn(2.0)])`, true],
  [`sets.contains([dyn(1), dyn(2.0), dyn(3u)], [dyn(1.0), dyn(2u), dyn(3)])`, true],
  [`sets.contains([[1], [2, 3]], [[2, 3]])`, true],
  [`sets.contains([1], [2])`, false],
  [`sets.contains([1], [1, 2])`, false],
  [`sets.contains([1], [dyn("1"), dyn(1)])`, false],
  [`sets.contains([1], [dyn(1.1), dyn(1u)])`, false],
  [`sets.equivalent([], [])`, true],
  [`sets.equivalent([1], [1])`, true],
  [`sets.equivalent([1], [1, 1])`, true],
  [`sets.equivalent([1, 1], [1])`, true],
  [`sets.equivalent([1], [dyn(1u), dyn(1.0)])`, true],
  [`sets.equivalent([1, 2, 3], [dyn(3u), dyn(2.0), dyn(1)])`, true],
  [`sets.equivalent([2, 1], [1])`, false],
  [`sets.equivalent([1], [1, 2])`, false],
  [`sets.equivalent([1, 2], [dyn(1u), dyn(2), dyn(2.3)])`, false],
  [`sets.intersects([1], [1])`, true],
  [`sets.intersects([1], [1, 1])`, true],
  [`sets.intersects([2, 1], [1])`, true],
  [`sets.intersects([1], [1, 2])`, true],
  [`sets.intersects([1], [dyn(1.0), dyn(2)])`, true],
  [`sets.intersects([1, 2], [dyn(1u), dyn(2), dyn(2.3)])`, true],
  [`sets.intersects([[1], [2, 3]], [[1, 2], [2, 3]])`, true],
  [`sets.intersects([], [])`, false],
  [`sets.intersects([1], [])`, false],
  [`sets.intersects([1], [2])`, false],
  [`sets.intersects([1], [dyn("1"), dyn(2)])`, false],
  [`sets.intersects([ip('10.0.0.1')], [ip('10.0.0.1')])`, true],
  [`sets.contains(object.list, ['a'])`, true],
];

const encoderRows: Row[] = [
  [`base64.decode('aGVsbG8=') == b'hello'`, true],
  [`base64.decode('aGVsbG8') == b'hello'`, true],
  [`base64.encode(b'hello') == 'aGVsbG8='`, true],
  [`base64.encode(b'') == ''`, true],
  [`base64.decode('') == b''`, true],
  [`base64.decode('aGVsbG8*')`, err('illegal base64 data at input byte 7')],
  [`base64.decode('a')`, err('illegal base64 data')],
  [`base64.encode('hello')`, err('no matching overload')],
];

describe('sets and encoders libraries', () => {
  it.each(setsRows)('%s', (...row) => {
    expect(checkRow(row, { object: { list: ['a', 'b'] } })).toBeUndefined();
  });
  it.each(encoderRows)('%s', (...row) => {
    expect(checkRow(row)).toBeUndefined();
  });
});
