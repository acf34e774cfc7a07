/**
 * resource.Quantity (`500m`, `128Mi`, `1e3`, `2`) as a plain number, precise enough to
 * compare a request with its limit. The API server would refuse a request above its limit
 * too, but naming the Deployment's container; checking here names the PolicyServer field.
 */

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?\d+))?$/;

const BINARY: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const DECIMAL: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The quantity's value in base units (cores, bytes…), or undefined when it is not one. */
export function parseQuantity(quantity: string | number): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) ? quantity : undefined;
  const match = QUANTITY.exec(quantity);
  if (!match) return undefined;
  const [, digits = '', binary, decimal, exponent] = match;
  const value = Number(digits);
  if (binary !== undefined) return value * (BINARY[binary] ?? Number.NaN);
  if (decimal !== undefined) return value * (DECIMAL[decimal] ?? Number.NaN);
  if (exponent !== undefined) return value * 10 ** Number(exponent);
  return value;
}
