import { describe, expect, it } from 'vitest';
import { checkRow, err, type Row } from './testkit.js';

// Kubernetes lists library: lists.go doc examples and apiextensions "stdlib list functions".
const k8sRows: Row[] = [
  [`[1, 2, 3].isSorted()`, true],
  [`['a', 'b', 'b', 'c'].isSorted()`, true],
  [`[2.0, 1.0].isSorted()`, false],
  [`[1].isSorted()`, true],
  [`[].isSorted()`, true],
  [`[1, 3].sum()`, 4n],
  [`[1.0, 3.0].sum()`, 4],
  [`[duration('1m'), duration('1s')].sum() == duration('1m1s')`, true],
  [`[].sum()`, 0n],
  [`[1u, 2u].sum() == 3u`, true],
  [`[1, 3].min()`, 1n],
  [`[1, 3].max()`, 3n],
  [`[].min()`, err('min called on empty list')],
  [`[].max()`, err('max called on empty list')],
  [`[1].min()`, 1n],
  [`['b', 'a', 'c'].min()`, 'a'],
  [`['b', 'a', 'c'].max()`, 'c'],
  [
    `[timestamp('2020-01-01T00:00:00Z'), timestamp('2019-01-01T00:00:00Z')].min() == timestamp('2019-01-01T00:00:00Z')`,
    true,
  ],
  [`[b'b', b'a'].min() == b'a'`, true],
  [`[true, false].max()`, true],
  [`[1, 2, 2, 3].indexOf(2)`, 1n],
  [`['a', 'b', 'b', 'c'].lastIndexOf('b')`, 2n],
  [`[1.0].indexOf(1.1)`, -1n],
  [`[].indexOf('string')`, -1n],
  [`[[1], [2]].indexOf([2])`, 1n],
  [`[1, 2, 3].includes(2)`, true],
  [`[1, 2, 3].includes(4)`, false],
  [`'model-a'.includes('model-a')`, true],
  [`'model-a'.includes('model-b')`, false],
  [`object.items.max()`, 5n],
  [`object.items.isSorted()`, false],
  [`object.items.sort().isSorted()`, true],
  [`object.names.min() == 'a'`, true],
  [`object.items.indexOf(3)`, 2n],
  [`object.mixed.sum()`, err('no such overload')],
  [`object.maps.min()`, err('cannot compare')],
];

// cel-go ext.Lists (ext/lists_test.go); mixed literals are wrapped in dyn() because this
// environment keeps aggregate literals homogeneous, as Kubernetes does.
const extRows: Row[] = [
  [`lists.range(4) == [0,1,2,3]`, true],
  [`lists.range(0) == []`, true],
  [`[5,1,2,3].reverse() == [3,2,1,5]`, true],
  [`[].reverse() == []`, true],
  [`[1].reverse() == [1]`, true],
  [
    `['are', 'you', 'as', 'bored', 'as', 'I', 'am'].reverse() == ['am', 'I', 'as', 'bored', 'as', 'you', 'are']`,
    true,
  ],
  [`[false, true, true].reverse().reverse() == [false, true, true]`, true],
  [`[1,2,3,4].slice(0, 4) == [1,2,3,4]`, true],
  [`[1,2,3,4].slice(0, 0) == []`, true],
  [`[1,2,3,4].slice(1, 1) == []`, true],
  [`[1,2,3,4].slice(4, 4) == []`, true],
  [`[1,2,3,4].slice(1, 3) == [2, 3]`, true],
  [
    `[1,2,3,4].slice(3, 0)`,
    err('cannot slice(3, 0), start index must be less than or equal to end index'),
  ],
  [`[1,2,3,4].slice(0, 10)`, err('cannot slice(0, 10), list is length 4')],
  [`[1,2,3,4].slice(-5, 10)`, err('cannot slice(-5, 10), negative indexes not supported')],
  [`[1,2,3,4].slice(-5, -3)`, err('cannot slice(-5, -3), negative indexes not supported')],
  [`dyn([]).flatten() == []`, true],
  [`dyn([1,2,3,4]).flatten() == [1,2,3,4]`, true],
  [`[dyn(1), dyn([dyn(2), dyn([3, 4])])].flatten() == [dyn(1), dyn(2), dyn([3, 4])]`, true],
  [`[[1,2],[],[],[3,4]].flatten() == [1,2,3,4]`, true],
  [`[dyn(1), dyn([dyn(2), dyn([3, 4])])].flatten(2) == [1, 2, 3, 4]`, true],
  [`[[1], [2]].flatten(-1)`, err('level must be non-negative')],
  [`[].flatten(-1)`, err('level must be non-negative')],
  [`dyn({}).flatten()`, err('no matching overload')],
  [`[[1, 2], [3, 4]].flatten() == [1, 2, 3, 4]`, true],
  [`[].sort() == []`, true],
  [`[1].sort() == [1]`, true],
  [`[4, 3, 2, 1].sort() == [1, 2, 3, 4]`, true],
  [`["d", "a", "b", "c"].sort() == ["a", "b", "c", "d"]`, true],
  [`[dyn("d"), dyn(3), dyn(2), dyn("c")].sort()`, err('list elements must have the same type')],
  [`[].sortBy(e, e) == []`, true],
  [`["a"].sortBy(e, e) == ["a"]`, true],
  [`[-3, 1, -5, -2, 4].sortBy(e, -(e * e)) == [-5, 4, -3, -2, 1]`, true],
  [`[-3, 1, -5, -2, 4].map(e, e * 2).sortBy(e, -(e * e)) == [-10, 8, -6, -4, 2]`, true],
  [`lists.range(3).sortBy(e, -e) == [2, 1, 0]`, true],
  [`["a", "c", "b", "first"].sortBy(e, e == "first" ? "" : e) == ["first", "a", "b", "c"]`, true],
  [
    `[{'field': 'lo'}, {'field': 'hi'}].sortBy(m, m.field) == [{'field': 'hi'}, {'field': 'lo'}]`,
    true,
  ],
  [`object.names.sortBy(n, n) == ['a', 'b']`, true],
  [`[].distinct() == []`, true],
  [`[1].distinct() == [1]`, true],
  [`[-2, 5, -2, 1, 1, 5, -2, 1].distinct() == [-2, 5, 1]`, true],
  [`['c', 'a', 'a', 'b', 'a', 'b', 'c', 'c'].distinct() == ['c', 'a', 'b']`, true],
  [
    `[dyn(1), dyn(2.0), dyn("c"), dyn(3), dyn("c"), dyn(1)].distinct() == [dyn(1), dyn(2.0), dyn("c"), dyn(3)]`,
    true,
  ],
  [`[dyn(1), dyn(1.0), dyn(2)].distinct() == [dyn(1), dyn(2)]`, true],
  [`[[1], [1], [2]].distinct() == [[1], [2]]`, true],
  [`[1, 2, 2, 1].distinct() == [1, 2]`, true],
  [`[1, 2, 3, 4, 5].slice(2, 4) == [3, 4]`, true],
];

const context = {
  object: { items: [1n, 5n, 3n], names: ['b', 'a'], mixed: [1n, 'a'], maps: [{}, {}] },
};

describe('lists library', () => {
  it.each(k8sRows)('%s', (...row) => {
    expect(checkRow(row, context)).toBeUndefined();
  });
  it.each(extRows)('%s', (...row) => {
    expect(checkRow(row, context)).toBeUndefined();
  });
});
