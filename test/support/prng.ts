/**
 * Seeded pseudo-random numbers for tests and benchmarks (never Math.random: every run must be reproducible).
 *
 * Generator: xoshiro128** 1.1 (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 2021),
 * state seeded by splitmix32 so that nearby integer seeds give unrelated streams. 32-bit output, period 2^128 - 1.
 * Samplers: standard normal by the Marsaglia polar method, gamma by Marsaglia & Tsang (ACM TOMS 2000) with the
 * shape < 1 boost, beta as a ratio of gammas, binomial by CDF inversion for n <= 64 (one uniform) and by counting
 * Bernoulli trials above (O(n): fine for the calibration sizes simulated here).
 */

/** splitmix32 step: a 32-bit mixer used to seed the state and to derive per-run seeds from (scenario, run). */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seed for run `run` of scenario `scenario`, independent of how runs are split across workers. */
export function deriveSeed(scenario: number, run: number): number {
  return mix32(mix32(scenario * 0x632be5ab) ^ (run >>> 0));
}

export interface Rng {
  /** Uniform on [0, 1) with 32 random bits. */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** Gamma(shape, 1), shape > 0. */
  gamma(shape: number): number;
  /** Beta(a, b), a, b > 0. */
  beta(a: number, b: number): number;
  /** Binomial(n, p), exact: inversion for n <= 64, n Bernoulli trials above. */
  binomial(n: number, p: number): number;
}

/** A new generator; the same seed always yields the same stream. */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new TypeError(`createRng: seed must be an integer, got ${seed}`);
  let s0 = mix32(seed);
  let s1 = mix32(s0 ^ 0x1b873593);
  let s2 = mix32(s1 ^ 0x7fedcb2a);
  let s3 = mix32(s2 ^ 0x5bd1e995);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const next = (): number => nextU32() / 4294967296;

  let spare: number | null = null;
  const normal = (): number => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    for (;;) {
      const u = 2 * next() - 1;
      const v = 2 * next() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        spare = v * f;
        return u * f;
      }
    }
  };

  const gamma = (shape: number): number => {
    if (!(shape > 0 && Number.isFinite(shape))) throw new RangeError(`gamma: shape=${shape}`);
    if (shape < 1) {
      // Gamma(a) = Gamma(a + 1) * U^(1/a); 1 - next() is in (0, 1] so the log is finite.
      return gamma(shape + 1) * (1 - next()) ** (1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  };

  const beta = (a: number, b: number): number => {
    const x = gamma(a);
    const y = gamma(b);
    return x / (x + y);
  };

  const binomial = (n: number, p: number): number => {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`binomial: n=${n}`);
    if (!(p >= 0 && p <= 1)) throw new RangeError(`binomial: p=${p}`);
    if (p === 0 || n === 0) return 0;
    if (p === 1) return n;
    if (n > 64) {
      // (1 - p)^n can underflow for large n: count trials instead.
      let k = 0;
      for (let i = 0; i < n; i++) if (next() < p) k++;
      return k;
    }
    // Inversion by sequential search of the CDF: one uniform per draw, O(n p) steps.
    const u = next();
    const ratio = p / (1 - p);
    let pk = (1 - p) ** n;
    let cdf = pk;
    let k = 0;
    while (u >= cdf && k < n) {
      pk *= ((n - k) / (k + 1)) * ratio;
      k++;
      cdf += pk;
    }
    return k;
  };

  return { next, normal, gamma, beta, binomial };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Beta parameters with mean p and intra-class correlation rho of the resulting beta-binomial
 * (ICC = 1 / (a + b + 1)): a = p (1 - rho) / rho, b = (1 - p)(1 - rho) / rho. rho = 0 means no clustering (null).
 */
export function betaForIcc(p: number, rho: number): { a: number; b: number } | null {
  if (!(p > 0 && p < 1)) throw new RangeError(`betaForIcc: p=${p}`);
  if (!(rho >= 0 && rho < 1)) throw new RangeError(`betaForIcc: rho=${rho}`);
  if (rho === 0) return null;
  return { a: (p * (1 - rho)) / rho, b: ((1 - p) * (1 - rho)) / rho };
}

/**
 * A sampler of the drops among m candidates of one query: p_q ~ Beta(mean p, ICC rho), then Binomial(m, p_q).
 * The beta-binomial's variance is m p (1 - p) (1 + (m - 1) rho): the Kish design effect is 1 + (m - 1) rho.
 */
export function clusteredDrops(rng: Rng, m: number, p: number, rho: number): () => number {
  const ab = betaForIcc(p, rho);
  if (ab === null) return () => rng.binomial(m, p);
  const { a, b } = ab;
  return () => rng.binomial(m, rng.beta(a, b));
}
