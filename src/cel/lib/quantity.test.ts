import { describe, expect, it } from 'vitest';
import { checkRow, err, type Row } from './testkit.js';

// Kubernetes pkg/cel/library/quantity_test.go and quantity.go doc examples, plus parsing edge
// cases of apimachinery's resource.ParseQuantity.
const rows: Row[] = [
  [`quantity("12Mi") == quantity("12582912")`, true],
  [`quantity("10Mo")`, err('quantities must match the regular expression')],
  [`quantity("10Mm")`, err("unable to parse quantity's suffix")],
  [`isQuantity("20")`, true],
  [`isQuantity("20M")`, true],
  [`isQuantity("20Mi")`, true],
  [`isQuantity("20Mo")`, false],
  [`isQuantity("10Mm")`, false],
  [`isQuantity([1, 2, 3])`, err('no matching overload')],
  [`isQuantity('1.3G')`, true],
  [`isQuantity('1,3G')`, false],
  [`isQuantity('10000k')`, true],
  [`isQuantity('200K')`, false],
  [`isQuantity('Three')`, false],
  [`isQuantity('')`, false],
  [`isQuantity('1e3')`, true],
  [`isQuantity('1E-3')`, true],
  [`isQuantity('.5')`, true],
  [`isQuantity('-5m')`, true],
  [`quantity("200M") == quantity("200M")`, true],
  [`quantity("200M") == quantity("0.2G") && quantity("0.2G") == quantity("200M")`, true],
  [
    `quantity("2M") == quantity("0.002G") && quantity("2000k") == quantity("2M") && quantity("0.002G") == quantity("2000k")`,
    true,
  ],
  [`quantity("200M") == quantity("0.3G")`, false],
  [`quantity("1e3") == quantity("1k")`, true],
  [`quantity("1Ki") == quantity("1024")`, true],
  [`quantity("50M").isLessThan(quantity("50Mi"))`, true],
  [`quantity("50M").isLessThan(quantity("100M"))`, true],
  [`quantity("100M").isLessThan(quantity("50M"))`, false],
  [`quantity("50Mi").isGreaterThan(quantity("50M"))`, true],
  [`quantity("150Mi").isGreaterThan(quantity("100Mi"))`, true],
  [`quantity("50M").isGreaterThan(quantity("100M"))`, false],
  [`quantity("100m").isLessThan(quantity("1"))`, true],
  [`quantity("200M").compareTo(quantity("0.2G"))`, 0n],
  [`quantity("50M").compareTo(quantity("50Mi"))`, -1n],
  [`quantity("50Mi").compareTo(quantity("50M"))`, 1n],
  [`quantity("50k").add(quantity("20")) == quantity("50.02k")`, true],
  [`quantity("50k").add(20).isLessThan(quantity("50020"))`, false],
  [`quantity("50k").sub(quantity("20")) == quantity("49.98k")`, true],
  [`quantity("50k").sub(20) == quantity("49980")`, true],
  [`quantity("50k").add(20).sub(quantity("100k")).asInteger()`, -49980n],
  [`quantity("50k").add(20).sub(quantity("100k")).sub(-50000).asInteger()`, 20n],
  [`quantity("50k").asInteger()`, 50000n],
  [
    `quantity("9999999999999999999999999999999999999G").asInteger()`,
    err('cannot convert value to integer'),
  ],
  [`quantity("9999999999999999999999999999999999999G").isInteger()`, false],
  [`quantity("50").isInteger()`, true],
  [`quantity("50000000G").isInteger()`, true],
  [`quantity("50.703k").asApproximateFloat()`, 50703],
  [`quantity("50k").sub(20000).asApproximateFloat() == 30000.0`, true],
  [`quantity("1.5").asApproximateFloat()`, 1.5],
  [`quantity("0.1Ki").asApproximateFloat()`, 102.4],
  [`quantity("1n").asApproximateFloat()`, 1e-9],
  [`sign(quantity("-5"))`, -1n],
  [`sign(quantity("0"))`, 0n],
  [`quantity("5m").sign()`, 1n],
  [`quantity("1Gi").asInteger()`, 1073741824n],
  [`quantity("1e-10") == quantity("1n")`, true],
  [`quantity("-1e-10") == quantity("-1n")`, true],
  [`type(quantity("1")) == type(quantity("2"))`, true],
  [`[quantity("1"), quantity("2")].indexOf(quantity("2000m"))`, 1n],
  [`quantity(object.cpu).isLessThan(quantity("1"))`, true],
];

describe('quantity library', () => {
  it.each(rows)('%s', (...row) => {
    expect(checkRow(row, { object: { cpu: '500m' } })).toBeUndefined();
  });
});
