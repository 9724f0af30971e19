// Labels that do not fit their candidates are refused with the first problems in the message itself: "1 relevance
// label(s) do not match their candidates" alone read as a count mismatch when a label was 0.5 without relevant_at.
import { describe, expect, it } from "vitest";
import { labelsOf } from "../../src/calibrations/labels";
import { AppError } from "../../src/platform/errors";

const offsets = Uint32Array.from([0, 2, 4]);
const refused = (labels: (number[] | null)[], relevantAt?: number): string => {
  try {
    labelsOf(
      offsets,
      labels.length,
      (i) => labels[i] ?? null,
      relevantAt,
      (i) => `relevance[${i}]`,
    );
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).message;
  }
  throw new Error("accepted");
};

describe("refused relevance labels", () => {
  it("a graded label without relevant_at says what to give, in the message", () => {
    expect(
      refused([
        [1, 0.5],
        [0, 1],
      ]),
    ).toBe("1 relevance label(s) do not match their candidates: relevance[0][1] must be 0 or 1 (or give relevant_at for graded labels)");
  });

  it("a query whose labels do not match its candidates says how many of each", () => {
    expect(refused([[1], [0, 1]])).toBe("1 relevance label(s) do not match their candidates: relevance[0] has 1 label for 2 candidates");
  });
});
