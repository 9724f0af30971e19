/**
 * Spacing of float32 numbers near a value: the gap from |x| rounded to float32 to the next float32 above it
 * (numpy `np.spacing(np.float32(abs(x)))`). float32 has a 24-bit significand, so near 5e6 the spacing is 0.5: scores
 * near 5e6 with a spread of 0.1 are quantized to one or two values, and any threshold fitted on them is meaningless.
 * Computed from the bit pattern (no approximation); 0 gives the smallest subnormal, the largest float32 Infinity. Precondition: x finite and within
 * float32 range. Cost O(1). Reference: docs/methods.md, "float32 uploads".
 */
export function float32Spacing(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`float32Spacing: x=${x}`);
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, Math.abs(x));
  const here = view.getFloat32(0);
  if (!Number.isFinite(here)) throw new RangeError(`float32Spacing: ${x} is outside the float32 range`);
  const bits = view.getUint32(0);
  if (bits >= 0x7f7fffff) return Infinity; // the largest float32: the next one up is Infinity (numpy agrees)
  view.setUint32(0, bits + 1);
  return view.getFloat32(0) - here;
}
