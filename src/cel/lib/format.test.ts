import { describe, expect, it } from 'vitest';
import { FORMAT_NAMES } from './format.js';
import { checkRow, err, testEnv, type Row } from './testkit.js';

const LABEL_ERR =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_ERR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_ERR =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QNAME_ERR =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

// Kubernetes pkg/cel/library/format_test.go. `.validate()` yields optional.none() when valid,
// so valid rows check `hasValue() == false` and failing rows compare the error list.
const rows: Row[] = [
  [`format.dns1123Label().validate("my-label-name").hasValue()`, false],
  [`format.dns1123Subdomain().validate("apiextensions.k8s.io").hasValue()`, false],
  [`format.qualifiedName().validate("apiextensions.k8s.io/v1beta1").hasValue()`, false],
  [`format.dns1123LabelPrefix().validate("my-label-prefix-").hasValue()`, false],
  [`format.dns1123SubdomainPrefix().validate("mysubdomain.prefix.-").hasValue()`, false],
  [`format.dns1035LabelPrefix().validate("my-label-prefix-").hasValue()`, false],
  [`format.uri().validate("http://example.com").hasValue()`, false],
  [`format.uuid().validate("123e4567-e89b-12d3-a456-426614174000").hasValue()`, false],
  [`format.byte().validate("aGVsbG8=").hasValue()`, false],
  [`format.date().validate("2021-01-01").hasValue()`, false],
  [`format.datetime().validate("2021-01-01T00:00:00Z").hasValue()`, false],
  [`format.dns1123Label().validate("contains a space").value()`, [LABEL_ERR]],
  [`format.dns1123Subdomain().validate("contains a space").value()`, [SUBDOMAIN_ERR]],
  [`format.dns1035Label().validate("contains a space").value()`, [DNS1035_ERR]],
  [`format.qualifiedName().validate("contains a space").value()`, [QNAME_ERR]],
  [`format.dns1123LabelPrefix().validate("contains a space-").value()`, [LABEL_ERR]],
  [`format.dns1123SubdomainPrefix().validate("contains a space-").value()`, [SUBDOMAIN_ERR]],
  [`format.dns1035LabelPrefix().validate("contains a space-").value()`, [DNS1035_ERR]],
  [`format.dns1123Label().validate("my-label-name").hasValue()`, false],
  [`format.dns1123Subdomain().validate("example.com").hasValue()`, false],
  [`format.dns1035Label().validate("my-label-name").hasValue()`, false],
  [`format.dns1035Label().validate("1abc").hasValue()`, true],
  [`format.qualifiedName().validate("my.name").hasValue()`, false],
  [`format.qualifiedName().validate("/name").value()`, ['prefix part must be non-empty']],
  [`format.qualifiedName().validate("a/b/c").value().size()`, 1n],
  [`format.byte().validate("aGVsbG8=").hasValue()`, false],
  [`format.byte().validate("aGVsbG8").value()`, ['invalid base64']],
  [`format.date().validate("2020-01-01").hasValue()`, false],
  [`format.date().validate("2020-01-32").value()`, ['invalid date']],
  [`format.date().validate("2021-02-29").value()`, ['invalid date']],
  [`format.date().validate("2020-02-29").hasValue()`, false],
  [`format.datetime().validate("2020-01-01T00:00:00Z").hasValue()`, false],
  [`format.datetime().validate("2020-01-01T10:00:00.123+02:00").hasValue()`, false],
  [`format.datetime().validate("2020-01-32T00:00:00Z").value()`, ['invalid datetime']],
  [`format.uuid().validate("not-a-uuid").value()`, ['does not match the UUID format']],
  [`format.uri().validate("foo").value()`, ['parse "foo": invalid URI for request']],
  [`format.named("unknown").hasValue()`, false],
  [`format.labelValue().validate("my-cool-label-Value").hasValue()`, false],
  [`format.labelValue().validate("").hasValue()`, false],
  [`format.labelValue().validate("my-cool-label-Value!!\\n\\n!!!").value()`, [LABEL_VALUE_ERR]],
  [`format.dns1123Label().validate("a".repeat(64))`, err('no matching overload')],
  [`format.dns1123Label().validate(object.long).value()[0]`, 'must be no more than 63 characters'],
  [`format.dns1123Label().validate(object.name).orValue([]).size()`, 0n],
  [`format.named("dns1123Label").value().validate("Bad").hasValue()`, true],
];

const namedRows: Row[] = FORMAT_NAMES.flatMap((lhs): Row[] => [
  [`format.named("${lhs}").hasValue()`, true],
  [`format.named("${lhs}").value() == format.${lhs}()`, true],
  ...FORMAT_NAMES.filter((rhs) => rhs !== lhs).map((rhs): Row => [
    `format.${lhs}() == format.${rhs}()`,
    false,
  ]),
]);

describe('format library', () => {
  it.each(rows)('%s', (...row) => {
    expect(checkRow(row, { object: { long: 'a'.repeat(64), name: 'web-0' } })).toBeUndefined();
  });
  it('has lookups and distinct constants for every named format', () => {
    expect(FORMAT_NAMES).toHaveLength(13);
    const failures = namedRows.map((row) => checkRow(row)).filter((f) => f !== undefined);
    expect(failures).toEqual([]);
  });
  it('types validate() as an optional list of strings', () => {
    expect(testEnv().check(`format.dns1123Label().validate('x')`)).toEqual({
      valid: true,
      type: 'optional<list<string>>',
    });
  });
});
