/**
 * A port of numpy's legacy `numpy.random.RandomState` (the MT19937 Mersenne Twister), so that
 * the tutorial's `RandomState(23455)` initialisation and `RandomState(1).rand(...)` examples give
 * the very same doubles here as in numpy.
 *
 * Only the draws the project needs are ported: `random_sample`/`rand`, `uniform`, `randint`
 * (masked rejection sampling, as legacy numpy), `shuffle` and `permutation`. Every method consumes
 * 32-bit words from the generator in exactly numpy's order, so calls can be interleaved with the
 * same results as the same sequence of numpy calls.
 *
 * @module
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/**
 * numpy's legacy `RandomState`, seeded with an integer (numpy's `init_genrand` seeding).
 *
 * @example Reproduce numpy's `RandomState(0).random_sample()`
 * ```ts
 * import { RandomState } from "./random.ts";
 * import assert from "node:assert";
 *
 * const rng = new RandomState(0);
 * assert.strictEqual(rng.randomSample(1)[0], 0.5488135039273248);
 * ```
 */
export class RandomState {
  #key = new Uint32Array(N);
  #pos = N;

  /**
   * Seeds the generator as numpy does for an integer seed (`mt19937_seed`, i.e. MT's `init_genrand`).
   *
   * @param seed An integer with 0 <= seed < 2**32.
   * @throws {RangeError} If `seed` is not an integer in [0, 2**32).
   */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(
        `RandomState: seed must be an integer in [0, 2**32), received ${seed}`,
      );
    }
    const key = this.#key;
    key[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = key[i - 1];
      key[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.#pos = N;
  }

  /** Regenerates the 624-word state block (numpy's `mt19937_gen`). */
  #generate(): void {
    const key = this.#key;
    let i = 0;
    for (; i < N - M; i++) {
      const y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
      key[i] = key[i + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < N - 1; i++) {
      const y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
      key[i] = key[i + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (key[N - 1] & UPPER_MASK) | (key[0] & LOWER_MASK);
    key[N - 1] = key[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.#pos = 0;
  }

  /**
   * The next tempered 32-bit output of MT19937 (numpy's `next_uint32`).
   *
   * @returns An integer in [0, 2**32).
   *
   * @example The reference MT19937 sequence for seed 5489
   * ```ts
   * import { RandomState } from "./random.ts";
   * import assert from "node:assert";
   *
   * assert.strictEqual(new RandomState(5489).nextUint32(), 3499211612);
   * ```
   */
  nextUint32(): number {
    if (this.#pos === N) this.#generate();
    let y = this.#key[this.#pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * One double in [0, 1) with 53 random bits, built from two 32-bit words as numpy does:
   * `((a >> 5) * 67108864 + (b >> 6)) / 9007199254740992`.
   *
   * @returns A double in [0, 1).
   *
   * @example
   * ```ts
   * import { RandomState } from "./random.ts";
   * import assert from "node:assert";
   *
   * assert.strictEqual(new RandomState(0).nextDouble(), 0.5488135039273248);
   * ```
   */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * numpy's `random_sample(size)`: `size` doubles in [0, 1).
   *
   * @param size How many doubles to draw (default 1).
   * @returns A new Float64Array of length `size`.
   *
   * @example
   * ```ts
   * import { RandomState } from "./random.ts";
   * import assert from "node:assert";
   *
   * const u = new RandomState(0).randomSample(2);
   * assert.deepStrictEqual(Array.from(u), [0.5488135039273248, 0.7151893663724195]);
   * ```
   */
  randomSample(size = 1): Float64Array {
    checkSize("randomSample", size);
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = this.nextDouble();
    return out;
  }

  /**
   * numpy's `rand(d0, d1, ...)`: doubles in [0, 1) for an array of the given shape, flat and
   * row-major (the same order numpy fills its C-contiguous result).
   *
   * @param shape The dimensions; no dimension gives one value.
   * @returns A new Float64Array with `product(shape)` elements.
   *
   * @example The tutorial's max-pooling input
   * ```ts
   * import { RandomState } from "./random.ts";
   * import assert from "node:assert";
   *
   * const invals = new RandomState(1).rand(3, 2, 5, 5);
   * assert.strictEqual(invals.length, 150);
   * assert.strictEqual(invals[0], 0.417022004702574);
   * ```
   */
  rand(...shape: number[]): Float64Array {
    let size = 1;
    for (const d of shape) {
      checkSize("rand", d);
      size *= d;
    }
    return this.randomSample(size);
  }

  /**
   * numpy's `uniform(low, high, size)`: `low + (high - low) * random_sample()` per element.
   *
   * @param low Lower bound (inclusive).
   * @param high Upper bound (exclusive, up to floating-point rounding).
   * @param size How many values to draw.
   * @returns A new Float64Array of length `size`.
   *
   * @example The bias of the tutorial's convolution example
   * ```ts
   * import { RandomState } from "./random.ts";
   * import assert from "node:assert";
   *
   * const rng = new RandomState(23455);
   * const w = rng.uniform(-1 / Math.sqrt(243), 1 / Math.sqrt(243), 2 * 3 * 9 * 9);
   * const b = rng.uniform(-0.5, 0.5, 2);
   * assert.strictEqual(w[0], 0.04297323069332297);
   * assert.strictEqual(b[0], -0.3943425023926769);
   * ```
   */
  uniform(low: number, high: number, size: number): Float64Array {
    checkSize("uniform", size);
    const range = high - low;
    if (!Number.isFinite(range)) {
      throw new RangeError(`uniform: high - low must be finite, received ${low}, ${high}`);
    }
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = low + range * this.nextDouble();
    return out;
  }

  /**
   * numpy's legacy `randint(low, high, size)` (default int64 dtype): integers in [low, high)
   * drawn by masked rejection sampling: `v = next_uint32() & mask` until `v <= high - 1 - low`,
   * where `mask` is the smallest all-ones bit mask covering `high - 1 - low`. A one-value range
   * consumes no random numbers, like numpy.
   *
   * @param low Smallest value (inclusive), an integer >= -2**31.
   * @param high Largest value (exclusive), an integer with low < high <= 2**31.
   * @param size How many values to draw.
   * @returns A new Int32Array of length `size`.
   * @throws {RangeError} If the bounds are not integers with -2**31 <= low < high <= 2**31.
   *
   * @example
   * ```ts
   * import { RandomState } from "./random.ts";
   * import assert from "node:assert";
   *
   * const d = new RandomState(42).randint(0, 10, 5);
   * assert.deepStrictEqual(Array.from(d), [6, 3, 7, 4, 6]);
   * ```
   */
  randint(low: number, high: number, size: number): Int32Array {
    checkSize("randint", size);
    if (
      !Number.isInteger(low) || !Number.isInteger(high) || low < -0x80000000 ||
      high > 0x80000000 || low >= high
    ) {
      throw new RangeError(
        `randint: expected integers with -2**31 <= low < high <= 2**31, received low=${low}, high=${high}`,
      );
    }
    const rng = high - 1 - low; // in [0, 2**32 - 1]
    const out = new Int32Array(size);
    for (let i = 0; i < size; i++) out[i] = low + this.#boundedUint32(rng);
    return out;
  }

  /**
   * A uniform integer in [0, max] by masked rejection (numpy's `random_interval`, and the 32-bit
   * masked path of `random_bounded_uint64_fill`: both draw identically for max < 2**32).
   */
  #boundedUint32(max: number): number {
    if (max === 0) return 0;
    if (max === 0xffffffff) return this.nextUint32();
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do {
      v = (this.nextUint32() & mask) >>> 0;
    } while (v > max);
    return v;
  }

  /**
   * numpy's legacy `shuffle(x)` for a 1-D array, in place: for i from n-1 down to 1, swap
   * `x[i]` with `x[j]`, `j = random_interval(i)` (a masked-rejection integer in [0, i]).
   *
   * @param x The array to shuffle in place (a typed array or a plain array; at most 2**32 items).
   *
   * @example
   * ```ts
   * import { RandomState } from "./random.ts";
   * import assert from "node:assert";
   *
   * const a = [0, 1, 2, 3, 4, 5, 6];
   * new RandomState(9).shuffle(a);
   * assert.deepStrictEqual(a, [5, 1, 2, 3, 0, 4, 6]);
   * ```
   */
  shuffle<T>(x: { length: number; [i: number]: T }): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.#boundedUint32(i);
      const t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
  }

  /**
   * numpy's legacy `permutation(n)`: `arange(n)` shuffled with {@linkcode RandomState.shuffle}.
   *
   * @param n How many indices, an integer in [0, 2**31).
   * @returns A new Int32Array holding a permutation of 0..n-1.
   *
   * @example
   * ```ts
   * import { RandomState } from "./random.ts";
   * import assert from "node:assert";
   *
   * const p = new RandomState(0).permutation(10);
   * assert.deepStrictEqual(Array.from(p), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
   * ```
   */
  permutation(n: number): Int32Array {
    checkSize("permutation", n);
    if (n > 0x7fffffff) {
      throw new RangeError(`permutation: n must be < 2**31, received ${n}`);
    }
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    this.shuffle(out);
    return out;
  }
}

function checkSize(fn: string, size: number): void {
  if (!Number.isInteger(size) || size < 0) {
    throw new RangeError(`${fn}: size must be a non-negative integer, received ${size}`);
  }
}
