// Tests of src/random.ts against numpy's legacy RandomState.
// Every expected value below was produced with numpy 1.24.2 (python3-numpy, Debian 12), e.g.
//   python3 -c "import numpy as np; print(repr(np.random.RandomState(1).rand(3,2,5,5)[0,0].ravel().tolist()))"
// and copied here with full repr precision (17 significant digits), so equality is exact.
import assert from "node:assert";
import { RandomState } from "../src/random.ts";
import { assertThrowsWith } from "./_assert.ts";

Deno.test("RandomState(1).rand(3,2,5,5) matches numpy exactly (tutorial's invals)", () => {
  const invals = new RandomState(1).rand(3, 2, 5, 5);
  assert.strictEqual(invals.length, 150);
  // numpy: RandomState(1).rand(3,2,5,5)[0,0].ravel()[:10]
  assert.deepStrictEqual(Array.from(invals.subarray(0, 10)), [
    0.417022004702574,
    0.7203244934421581,
    0.00011437481734488664,
    0.30233257263183977,
    0.14675589081711304,
    0.0923385947687978,
    0.1862602113776709,
    0.34556072704304774,
    0.39676747423066994,
    0.538816734003357,
  ]);
  // numpy: invals[1,0].ravel()[:5] (flat offset 50)
  assert.deepStrictEqual(Array.from(invals.subarray(50, 55)), [
    0.019366957870297075,
    0.678835532939891,
    0.21162811600005904,
    0.2655466593722262,
    0.4915731592803383,
  ]);
  // numpy: invals.ravel()[-3:]
  assert.deepStrictEqual(Array.from(invals.subarray(147)), [
    0.7129889803826767,
    0.5597169820541424,
    0.012555980159115854,
  ]);
});

Deno.test("rand: the tutorial's printed first row of invals[0,0]", () => {
  const row = new RandomState(1).rand(5);
  const printed = [
    "4.17022005e-01",
    "7.20324493e-01",
    "1.14374817e-04",
    "3.02332573e-01",
    "1.46755891e-01",
  ];
  // numpy printed 8 digits after the mantissa's point: compare after the same rounding
  assert.deepStrictEqual(Array.from(row, (v) => Number(v.toExponential(8))), printed.map(Number));
});

Deno.test("randomSample: seeds 0 and 2**32-1 match numpy", () => {
  // numpy: RandomState(0).random_sample(3)
  assert.deepStrictEqual(Array.from(new RandomState(0).randomSample(3)), [
    0.5488135039273248,
    0.7151893663724195,
    0.6027633760716439,
  ]);
  // numpy: RandomState(2**32-1).random_sample(2)
  assert.deepStrictEqual(Array.from(new RandomState(2 ** 32 - 1).randomSample(2)), [
    0.0976320289940138,
    0.9123828453026218,
  ]);
  assert.strictEqual(new RandomState(0).randomSample().length, 1);
});

Deno.test("randomSample: crosses the 624-word state regeneration like numpy", () => {
  // numpy: x = RandomState(123).rand(700); x[623:626], x[-1]  (each double uses 2 words)
  const x = new RandomState(123).rand(700);
  assert.deepStrictEqual(Array.from(x.subarray(623, 626)), [
    0.931702882961486,
    0.880607142176593,
    0.3913164925172572,
  ]);
  assert.strictEqual(x[699], 0.8475023105281434);
});

Deno.test("nextUint32: raw MT19937 words match numpy (and the MT reference for seed 5489)", () => {
  // numpy: RandomState(s).randint(0, 2**32, size=n, dtype=np.uint32) returns raw next_uint32 words
  const words = (seed: number, n: number) => {
    const rng = new RandomState(seed);
    return Array.from({ length: n }, () => rng.nextUint32());
  };
  assert.deepStrictEqual(words(5489, 5), [
    3499211612,
    581869302,
    3890346734,
    3586334585,
    545404204,
  ]);
  assert.deepStrictEqual(words(0, 3), [2357136044, 2546248239, 3071714933]);
  assert.deepStrictEqual(words(2 ** 32 - 1, 3), [419326371, 479346978, 3918654476]);
});

Deno.test("uniform: the tutorial's conv example draws from RandomState(23455)", () => {
  // numpy: rng = RandomState(23455); wb = sqrt(3*9*9)
  //        W = rng.uniform(-1/wb, 1/wb, (2,3,9,9)); b = rng.uniform(-.5, .5, (2,))
  const rng = new RandomState(23455);
  const wb = Math.sqrt(3 * 9 * 9);
  const w = rng.uniform(-1 / wb, 1 / wb, 2 * 3 * 9 * 9);
  const b = rng.uniform(-0.5, 0.5, 2);
  assert.deepStrictEqual(Array.from(w.subarray(0, 4)), [
    0.04297323069332297,
    -0.04941739638703065,
    0.021682390701450935,
    -0.0043686333619421605,
  ]);
  assert.strictEqual(w[w.length - 1], 0.047293789925232865);
  assert.deepStrictEqual(Array.from(b), [-0.3943425023926769, 0.16818965121237217]);
});

Deno.test("randint: masked rejection sampling matches numpy's legacy randint", () => {
  // numpy: RandomState(42).randint(0, 10, size=12)
  assert.deepStrictEqual(
    Array.from(new RandomState(42).randint(0, 10, 12)),
    [6, 3, 7, 4, 6, 9, 2, 6, 7, 4, 3, 7],
  );
  // numpy: RandomState(7).randint(-5, 1000003, size=6)
  assert.deepStrictEqual(
    Array.from(new RandomState(7).randint(-5, 1000003, 6)),
    [585898, 189631, 573972, 535025, 759358, 839886],
  );
  // numpy: RandomState(11).randint(0, 2**30+2, size=6)  (about half the draws rejected)
  assert.deepStrictEqual(
    Array.from(new RandomState(11).randint(0, 2 ** 30 + 2, 6)),
    [774252441, 293375679, 83645520, 707468379, 833720247, 966083853],
  );
  // numpy: RandomState(3).randint(-2**31, 2**31, size=4)  (full 32-bit range: raw words)
  assert.deepStrictEqual(
    Array.from(new RandomState(3).randint(-(2 ** 31), 2 ** 31, 4)),
    [218175338, -1843722600, 893988089, 1460070019],
  );
});

Deno.test("randint: a one-value range consumes no draws, like numpy", () => {
  // numpy: rs = RandomState(3); rs.randint(5, 6, size=3) -> [5, 5, 5]; rs.random_sample()
  //        equals RandomState(3).random_sample() = 0.5507979025745755
  const rng = new RandomState(3);
  assert.deepStrictEqual(Array.from(rng.randint(5, 6, 3)), [5, 5, 5]);
  assert.strictEqual(rng.nextDouble(), 0.5507979025745755);
});

Deno.test("permutation and shuffle match numpy's legacy Fisher-Yates", () => {
  // numpy: RandomState(0).permutation(10)
  assert.deepStrictEqual(
    Array.from(new RandomState(0).permutation(10)),
    [2, 8, 4, 9, 1, 6, 7, 3, 0, 5],
  );
  // numpy: p = RandomState(1234).permutation(50000); p[:8], p[-4:]
  const p = new RandomState(1234).permutation(50000);
  assert.deepStrictEqual(
    Array.from(p.subarray(0, 8)),
    [20308, 37706, 6041, 42143, 23202, 38925, 17788, 5884],
  );
  assert.deepStrictEqual(Array.from(p.subarray(-4)), [17048, 23924, 34086, 27439]);
  assert.deepStrictEqual(
    Array.from(p).sort((a, b) => a - b),
    Array.from({ length: 50000 }, (_, i) => i),
  );
  // numpy: a = np.arange(7.0); RandomState(9).shuffle(a)
  const a = [0, 1, 2, 3, 4, 5, 6];
  new RandomState(9).shuffle(a);
  assert.deepStrictEqual(a, [5, 1, 2, 3, 0, 4, 6]);
  assert.deepStrictEqual(Array.from(new RandomState(0).permutation(0)), []);
  assert.deepStrictEqual(Array.from(new RandomState(0).permutation(1)), [0]);
});

Deno.test("interleaved calls consume the stream in numpy's order", () => {
  // numpy: rs = RandomState(5); rs.uniform(-3, 2, 2); rs.randint(0, 7, 3); rs.permutation(5); rs.rand(2)
  const rng = new RandomState(5);
  assert.deepStrictEqual(Array.from(rng.uniform(-3, 2, 2)), [
    -1.8900341445513025,
    1.3536615308868818,
  ]);
  assert.deepStrictEqual(Array.from(rng.randint(0, 7, 3)), [6, 6, 0]);
  assert.deepStrictEqual(Array.from(rng.permutation(5)), [2, 4, 3, 0, 1]);
  assert.deepStrictEqual(Array.from(rng.rand(2)), [0.39673660521140586, 0.3541380429150014]);
});

Deno.test("RandomState rejects bad seeds and sizes with RangeError", () => {
  assertThrowsWith(() => new RandomState(-1), RangeError, "received -1");
  assertThrowsWith(
    () => new RandomState(2 ** 32),
    RangeError,
    "seed must be an integer in [0, 2**32)",
  );
  assertThrowsWith(() => new RandomState(1.5), RangeError, "seed");
  assertThrowsWith(() => new RandomState(NaN), RangeError, "seed");
  const rng = new RandomState(0);
  assertThrowsWith(() => rng.randomSample(-1), RangeError, "randomSample");
  assertThrowsWith(() => rng.rand(2, 1.5), RangeError, "rand");
  assertThrowsWith(() => rng.randint(3, 3, 1), RangeError, "low=3, high=3");
  assertThrowsWith(() => rng.randint(0, 2 ** 31 + 1, 1), RangeError, "randint");
  assertThrowsWith(() => rng.uniform(-Infinity, 0, 1), RangeError, "uniform");
});
