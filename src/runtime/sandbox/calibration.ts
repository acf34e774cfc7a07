/**
 * A loop that spends fuel exactly as instrumented guests do at a loop header, used by each
 * worker to learn how much fuel one millisecond of the tightest possible guest loop burns.
 * Budgets derived from it end a runaway loop at about its deadline; heavier loops burn
 * less per millisecond, so their fuel lasts longer and the wall-clock stop ends them instead.
 * Hand-assembled, so the runtime needs no assembler.
 */
const ascii = (name: string): number[] => Array.from(name, (c) => c.charCodeAt(0));

// prettier-ignore
export const CALIBRATION_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x06, 0x06, 0x01, 0x7e, 0x01, 0x42, 0x00, 0x0b, // global 0: mut i64 = 0
  0x07, 0x1a, 0x02,
  0x0f, ...ascii('__palisade_fuel'), 0x03, 0x00,
  0x04, ...ascii('spin'), 0x00, 0x00,
  0x0a, 0x19, 0x01, 0x17, 0x00,
  0x03, 0x40, // loop
  0x23, 0x00, 0x42, 0x01, 0x7d, 0x24, 0x00, // fuel -= 1
  0x23, 0x00, 0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b, // if fuel < 0: unreachable
  0x0c, 0x00, // br 0: forever, until the fuel runs out
  0x0b, 0x0b,
]);

/**
 * Fuel per millisecond of the calibration loop, the fastest of a few runs: a budget from the
 * fastest rate never ends a guest before its deadline; a guest running slower code (not yet
 * optimised, or heavier loops) is ended by the wall-clock stop instead.
 */
export function measureFuelPerMs(): number {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(CALIBRATION_MODULE));
  const spin = instance.exports['spin'] as () => void;
  const fuel = instance.exports['__palisade_fuel'] as WebAssembly.Global;
  const budget = 5_000_000n;
  let best = 0;
  for (let round = 0; round < 8; round++) {
    fuel.value = budget;
    const start = performance.now();
    try {
      spin();
    } catch {
      // The trap at fuel < 0 is how every run ends.
    }
    const ms = performance.now() - start;
    if (ms > 0) best = Math.max(best, Number(budget) / ms);
  }
  return best;
}
