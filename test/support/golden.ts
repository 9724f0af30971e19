/** Loads the golden score sets shared by the stats tests (fixtures/golden/datasets.json, made by generate.py). */
import datasets from "../../fixtures/golden/datasets.json";

type DatasetSpec =
  | { readonly kind: "values"; readonly values: readonly number[] }
  | { readonly kind: "outer"; readonly a: readonly number[]; readonly b: readonly number[] };

/** A golden score set in numpy's order; "outer" sets are a[i] + b[j], i outer (fixtures/golden/README.md). */
export function scores(name: string): Float64Array {
  const spec = (datasets.datasets as Record<string, DatasetSpec>)[name];
  if (spec === undefined) throw new Error(`unknown golden data set ${name}`);
  if (spec.kind === "values") return Float64Array.from(spec.values);
  const { a, b } = spec;
  return Float64Array.from({ length: a.length * b.length }, (_, i) => a[Math.floor(i / b.length)]! + b[i % b.length]!);
}
