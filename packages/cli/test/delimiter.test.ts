import { describe, expect, it } from "vitest";
import { DELIMITER_SAMPLE_LINES, delimiterFromFlag, detectDelimiter, parseNumber, splitFields } from "../src/delimiter";

describe("detectDelimiter", () => {
  it.each([
    ["comma, header", ["query_id,score", "q1,0.5", "q2,0.25"], ",", false],
    ["semicolon with decimal commas (a decimal-comma locale's spreadsheet)", ["query_id;score", "q1;0,5", "q2;0,25"], ";", true],
    ["semicolon with decimal points", ["query_id;doc;score", "q1;a;0.5", "q2;b;0.25"], ";", false],
    ["tab", ["qid\trelevance_score", "q1\t0.5", "q2\t0.25"], "\t", false],
    ["tab with decimal commas", ["qid\tscore", "q1\t0,5", "q2\t0,25"], "\t", true],
    ["pipe", ["query_id|score", "q1|0.5"], "|", false],
    ["headerless semicolon, two columns, decimal commas", ["q1;0,5", "q1;0,25", "q2;0,75"], ";", true],
    ["headerless comma, two columns", ["q1,0.5", "q1,0.25", "q2,0.75"], ",", false],
    ["comma with semicolons inside a text column", ["query,doc,score", "a;b,x,0.5", "c;d,y,0.25"], ",", false],
    ["comma with quoted fields holding semicolons and commas", ["query,score", '"a; b, c",0.5', '"d;e",0.25'], ",", false],
    ["semicolon with a quoted field holding a semicolon", ["query;score", '"a;b";0,5', "c;0,25"], ";", true],
    ["one column with decimal commas: no separator splits it", ["score", "0,5", "0,25"], "\t", true],
    ["one column with decimal points", ["score", "0.5", "0.25"], "\t", false],
  ] as const)("%s", (_, lines, delimiter, decimalComma) => {
    expect(detectDelimiter(lines)).toEqual({ delimiter, decimalComma });
  });

  it("a first line that no separator splits as the rows: the separator that splits the rows alike, and the mismatch", () => {
    expect(detectDelimiter(["query_id,score,label", "q0,0.9", "q1,0.5"])).toEqual({
      delimiter: ",",
      decimalComma: false,
      mismatch: { firstFields: 3, rowFields: 2 },
    });
    // one column of decimal commas is no mismatch: the comma is their decimal mark
    expect(detectDelimiter(["score", "0,5", "0,25"]).mismatch).toBeUndefined();
    // rows that differ among themselves are one column (their bad rows say why)
    expect(detectDelimiter(["a,b,c", "q0,0.9", "q1,0.5,x,y"]).mismatch).toBeUndefined();
  });

  it("a few bad rows in the sample do not change the separator", () => {
    const lines = ["query_id,score", "q1,0.5", "q1,", "q2,abc", "q5,0.5,extra", ",0.5"];
    expect(detectDelimiter(lines).delimiter).toBe(",");
    const semi = ["query_id;score", "q1;0,5", "q2;0,5;extra", "q3;0,25"];
    expect(detectDelimiter(semi)).toEqual({ delimiter: ";", decimalComma: true });
  });

  it("decimal points anywhere in the sample turn decimal commas off (a thousands separator is not a decimal mark)", () => {
    expect(detectDelimiter(["q\tscore", "q1\t1,234", "q2\t0.5"])).toEqual({ delimiter: "\t", decimalComma: false });
  });

  it("samples at most DELIMITER_SAMPLE_LINES lines and refuses an empty sample", () => {
    expect(DELIMITER_SAMPLE_LINES).toBeGreaterThanOrEqual(10);
    expect(() => detectDelimiter([])).toThrow(RangeError);
  });
});

describe("parseNumber and splitFields", () => {
  it("reads decimal commas only when asked, and refuses empty fields, thousands separators and non-finite values", () => {
    expect(parseNumber("0,734", true)).toBe(0.734);
    expect(parseNumber("-1,5e-3", true)).toBe(-0.0015);
    expect(parseNumber("0,734")).toBeNull();
    expect(parseNumber("0.734", true)).toBe(0.734);
    expect(parseNumber("1.234,5", true)).toBeNull();
    expect(parseNumber("", true)).toBeNull();
    expect(parseNumber("  ")).toBeNull();
    expect(parseNumber("1e400")).toBeNull();
    expect(parseNumber("NaN")).toBeNull();
    // JavaScript's integer literals are not scores: Number() would read "0x1A" as 26
    for (const lit of ["0x1A", "0X1a", " 0x10", "0b11", "0o17", "0x0", "0x1"]) expect(parseNumber(lit), lit).toBeNull();
    for (const [text, value] of [
      ["0", 0],
      ["01", 1],
      ["10", 10],
      ["0.5", 0.5],
      ["-0", -0],
      ["2e3", 2000],
    ] as const)
      expect(parseNumber(text)).toBe(value);
  });

  it("splits with quotes only where a line has one", () => {
    expect(splitFields("a;b;c", ";")).toEqual(["a", "b", "c"]);
    expect(splitFields('"a;b";c', ";")).toEqual(["a;b", "c"]);
    expect(splitFields('"a;b",c', ";")).toBeNull();
  });

  it("--delimiter takes the character or its name", () => {
    expect(delimiterFromFlag(";")).toBe(";");
    expect(delimiterFromFlag("semicolon")).toBe(";");
    expect(delimiterFromFlag("tab")).toBe("\t");
    expect(delimiterFromFlag("\\t")).toBe("\t");
    expect(delimiterFromFlag("\t")).toBe("\t");
    expect(delimiterFromFlag("PIPE")).toBe("|");
    expect(delimiterFromFlag(":")).toBeNull();
  });
});
