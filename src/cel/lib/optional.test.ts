import { describe, expect, it } from 'vitest';
import { checkRow, type Row } from './testkit.js';

// Optional types are built into cel-js; these rows pin the Kubernetes idioms policies rely on.
const rows: Row[] = [
  [`object.?spec.?replicas.orValue(1)`, 3n],
  [`object.?status.?replicas.orValue(1)`, 1n],
  [`object.?spec.?missing.hasValue()`, false],
  [`object.?spec.?replicas.hasValue()`, true],
  [`object.spec.?replicas.value() + 1`, 4n],
  [`object.?metadata.?labels['app'].orValue('none')`, 'web'],
  [`object.?metadata.?labels['tier'].orValue('none')`, 'none'],
  [`optional.of(1).orValue(2)`, 1n],
  [`optional.none().orValue(2)`, 2n],
  [`object.?spec.?replicas.or(optional.of(7)).value()`, 3n],
];

describe('optional types', () => {
  it.each(rows)('%s', (...row) => {
    const context = { object: { spec: { replicas: 3n }, metadata: { labels: { app: 'web' } } } };
    expect(checkRow(row, context)).toBeUndefined();
  });
});
