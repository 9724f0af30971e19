/**
 * The answerable column (--answerable-column): the words a flag may be written with, one flag per query in the
 * upload's query order, and the refusal of a query whose rows disagree, of a bad value and of layouts without
 * columns, each naming the line.
 */
import { describe, expect, it } from "vitest";
import { AnswerableFlags, parseAnswerable } from "../src/answerable";
import { encodeUpload } from "../src/body";
import { readScores } from "../src/read-scores";
import { fromText, inputError } from "./support/read-input";

describe("parseAnswerable", () => {
  it.each([
    [true, true],
    [false, false],
    [1, true],
    [0, false],
    ["true", true],
    ["FALSE", false],
    [" Yes ", true],
    ["no", false],
    ["1", true],
    ["0", false],
  ])("%j is %j", (raw, flag) => {
    expect(parseAnswerable(raw)).toBe(flag);
  });

  it.each([["maybe"], [""], ["2"], [2], [0.5], ["t"], ["y"], [null], [undefined], [[true]], [{}]])("%j is not a flag", (raw) => {
    expect(parseAnswerable(raw)).toBeNull();
  });
});

describe("AnswerableFlags", () => {
  it("keeps the first row's flag per query and names the query and the line that set it when a later row disagrees", () => {
    const f = new AnswerableFlags();
    expect(f.observe(0, "q1", true, 2)).toBeNull();
    expect(f.observe(1, "q2", false, 3)).toBeNull();
    expect(f.observe(0, "q1", true, 4)).toBeNull();
    expect(f.observe(1, "q2", true, 7)).toBe(
      'query "q2" is answerable here and not answerable on line 3: the flag is the query\'s, so every row of a query must give the same',
    );
    expect(f.done(2)).toEqual([true, false]);
    expect(() => f.done(3)).toThrow(RangeError);
  });
});

describe("readScores with --answerable-column", () => {
  it("one flag per query in the order of the grouped queries (rows of a query need not be adjacent), any case", async () => {
    const csv = "query_id,score,label,answerable\nq1,0.9,1,YES\nq2,0.2,0,no\nq1,0.4,0,yes\nq3,0.5,0,True\nq2,0.7,0,No\n";
    const r = await readScores(fromText(csv), { labelColumn: "label", answerableColumn: "answerable" });
    expect([...r.offsets!]).toEqual([0, 2, 4, 5]);
    expect(r.answerable).toEqual([true, false, true]);
    expect(r.answerableColumn).toBe("answerable");
    // not asked for: not read
    expect((await readScores(fromText(csv), { labelColumn: "label" })).answerable).toBeNull();
  });

  it("JSONL: booleans, 1/0 and words in a field; a query without a relevant candidate may still be answerable", async () => {
    const jsonl = [
      '{"qid":"a","score":0.9,"rel":0,"ok":true}',
      '{"qid":"a","score":0.3,"rel":0,"ok":1}',
      '{"qid":"b","score":0.6,"rel":1,"ok":false}',
      '{"qid":7,"score":0.2,"rel":0,"ok":"no"}',
    ].join("\n");
    const r = await readScores(fromText(jsonl), { format: "jsonl", labelColumn: "rel", answerableColumn: "ok" });
    expect(r.answerable).toEqual([true, false, false]);
    expect([...r.labels!]).toEqual([0, 0, 1, 0]);
  });

  it("a query whose rows disagree, a bad value and a missing field are bad rows, each with its line", async () => {
    const csv = "query_id,score,label,answerable\nq1,0.9,1,true\nq1,0.4,0,maybe\nq2,0.5,0,0\nq1,0.3,0,false\n";
    const e = await inputError(readScores(fromText(csv), { labelColumn: "label", answerableColumn: "answerable" }));
    expect(e.message).toMatch(/^2 bad rows in /u);
    expect(e.problems).toEqual([
      'line 3: the answerable flag is "maybe", not true/false, 1/0 or yes/no',
      'line 5: query "q1" is not answerable here and answerable on line 2: the flag is the query\'s, so every row of a query must give the same',
    ]);
    const missing = await inputError(
      readScores(fromText('{"query":"a","score":0.3,"rel":1}\n'), { format: "jsonl", labelColumn: "rel", answerableColumn: "ok" }),
    );
    expect(missing.problems).toEqual(['line 1: the answerable flag (field "ok") is missing, not true/false, 1/0 or yes/no']);
  });

  it("a missing or shared column and layouts without columns are refused", async () => {
    const noColumn = await inputError(readScores(fromText("query_id,score,label\nq1,0.5,1\n"), { labelColumn: "label", answerableColumn: "ans" }));
    expect(noColumn.message).toContain('there is no answerable column "ans"');
    const shared = await inputError(readScores(fromText("query_id,score,label\nq1,0.5,1\n"), { labelColumn: "label", answerableColumn: "label" }));
    expect(shared.message).toBe("the answerable column is the same column as the label column");
    const arrays = await inputError(readScores(fromText("[0.9,0.2]\n"), { format: "jsonl", answerableColumn: "ok" }));
    expect(arrays.message).toContain("--answerable-column reads a column of a CSV/TSV file or a field of JSONL objects");
    const text = await inputError(readScores(fromText("0.9\n0.2\n"), { format: "text", answerableColumn: "ok" }));
    expect(text.message).toContain("a plain score file has none: write one row per candidate with its flag");
  });
});

describe("the NDJSON body with answerable flags", () => {
  it("each labelled line carries its query's flag; without flags the field is left out (the server derives it)", () => {
    const meta = { embedding: "e", reranker: "r", index_version: "v", policy: { kind: "recall" as const, target: 0.9 } };
    const scores = Float64Array.of(0.9, 0.4, 0.2);
    const offsets = Uint32Array.of(0, 2, 3);
    const relevance = Float64Array.of(1, 0, 0);
    const text = (answerable: boolean[] | null) =>
      new TextDecoder()
        .decode(Buffer.concat(encodeUpload(meta, scores, offsets, false, { relevance, answerable }).chunks))
        .trimEnd()
        .split("\n");
    expect(text([true, true]).slice(1)).toEqual([
      '{"scores":[0.9,0.4],"relevance":[1,0],"answerable":true}',
      '{"scores":[0.2],"relevance":[0],"answerable":true}',
    ]);
    expect(text(null).slice(1)).toEqual(['{"scores":[0.9,0.4],"relevance":[1,0]}', '{"scores":[0.2],"relevance":[0]}']);
    expect(() => text([true])).toThrow(RangeError);
  });

  it("without relevance labels each query line carries its flag alone", async () => {
    const meta = {
      embedding: "e",
      reranker: "r",
      index_version: "v",
      policy: { kind: "drop_rate" as const, target: 0.3, abstention: { alpha: 0.1 } },
    };
    const csv = "query_id,score,answerable\nq1,0.9,yes\nq1,0.4,yes\nq2,0.2,no\n";
    const r = await readScores(fromText(csv), { answerableColumn: "answerable" });
    expect(r.labels).toBeNull();
    expect(r.answerable).toEqual([true, false]);
    const lines = new TextDecoder()
      .decode(Buffer.concat(encodeUpload(meta, r.scores, r.offsets, false, { relevance: null, answerable: r.answerable }).chunks))
      .trimEnd()
      .split("\n");
    expect(lines.slice(1)).toEqual(['{"scores":[0.9,0.4],"answerable":true}', '{"scores":[0.2],"answerable":false}']);
  });
});
