// Types of the build cache (build-cache.mjs) for TypeScript callers (test/bench/build-cache.test.ts, the CLI's tests).
export declare const CACHE: string;
export declare function inputsDigest(paths: readonly string[]): string;
export declare function buildOnce(options: {
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  build: () => void;
}): boolean;
