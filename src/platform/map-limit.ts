/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping the results in input order; rejects with
 * the first error (calls already started still finish). Hand-written: ten lines, where p-map or p-limit would add a
 * runtime dependency to the Worker for them.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`mapLimit: limit must be a whole number >= 1, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
