import { describe, expect, it } from 'vitest';
import { checkRow, err, type Row } from './testkit.js';

// Kubernetes pkg/cel/library/semver_test.go and semverlib.go doc examples, plus semver.org
// precedence rules as blang/semver implements them.
const rows: Row[] = [
  [`semver("1.2.3") == semver("1.2.3")`, true],
  [`semver("v1.0")`, err('No Major.Minor.Patch elements found')],
  [`isSemver("1.2.3-beta.1+build.1")`, true],
  [`isSemver("")`, false],
  [`isSemver("v1.0.0")`, false],
  [`isSemver(" 1.0.0")`, false],
  [`isSemver("1. 0.0")`, false],
  [`isSemver("1.0.0 ")`, false],
  [`isSemver("01.01.01")`, false],
  [`isSemver("1")`, false],
  [`isSemver("1.1")`, false],
  [`isSemver("", true)`, false],
  [`isSemver(" 1.0.0", true)`, false],
  [`isSemver("1. 0.0", true)`, false],
  [`isSemver("1.0.0 ", true)`, false],
  [`isSemver("v1.0.0", true)`, true],
  [`isSemver("01.01.01", true)`, true],
  [`isSemver("1", true)`, true],
  [`isSemver("1.1", true)`, true],
  [`isSemver("1.1-beta", true)`, false],
  [`isSemver([1, 2, 3])`, err('no matching overload')],
  [`isSemver("1.0.0-01")`, false],
  [`isSemver("1.0.0-alpha..1")`, false],
  [`isSemver("1.0.0+")`, false],
  [`isSemver("1.0.0-x_y")`, false],
  [`semver("v01.01", true) == semver("1.1.0")`, true],
  [`semver("1.0", true) == semver("1.0.0")`, true],
  [`semver("1.2.3") == semver("1.0.0")`, false],
  [`semver("1.0.0+build1") == semver("1.0.0+build2")`, true],
  [`semver("1.0.0").isLessThan(semver("1.2.3"))`, true],
  [`semver("1.0.0").isLessThan(semver("1.0.0"))`, false],
  [`semver("1.2.3").isGreaterThan(semver("1.0.0"))`, true],
  [`semver("1.0.0").isGreaterThan(semver("1.0.0"))`, false],
  [`semver("1.2.3").compareTo(semver("1.2.3"))`, 0n],
  [`semver("1.0.0").compareTo(semver("1.2.3"))`, -1n],
  [`semver("1.2.3").compareTo(semver("1.0.0"))`, 1n],
  [`semver("1.2.3").compareTo(semver("2.0.0"))`, -1n],
  [`semver("1.2.3").compareTo(semver("0.1.2"))`, 1n],
  [`semver("1.0.0-alpha").isLessThan(semver("1.0.0"))`, true],
  [`semver("1.0.0-alpha").isLessThan(semver("1.0.0-alpha.1"))`, true],
  [`semver("1.0.0-alpha.1").isLessThan(semver("1.0.0-alpha.beta"))`, true],
  [`semver("1.0.0-beta.2").isLessThan(semver("1.0.0-beta.11"))`, true],
  [`semver("1.0.0-rc.1").isLessThan(semver("1.0.0"))`, true],
  [`semver("1.2.3").major()`, 1n],
  [`semver("1.2.3").minor()`, 2n],
  [`semver("1.2.3").patch()`, 3n],
  [`semver("Three")`, err('No Major.Minor.Patch elements found')],
  [`semver("1.x.0")`, err('Invalid character(s) found in minor number')],
  [`semver("1.01.0")`, err('Minor number must not contain leading zeroes')],
  [`semver(object.version, true).minor()`, 30n],
];

describe('semver library', () => {
  it.each(rows)('%s', (...row) => {
    expect(checkRow(row, { object: { version: 'v1.30.2' } })).toBeUndefined();
  });
});
