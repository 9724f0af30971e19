import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRng } from "../../../test/support/prng";
import { splitQuoted } from "../src/delimiter";
import { readScores } from "../src/read-scores";
import { fromText, inputError } from "./support/read-input";

const dir = mkdtempSync(join(tmpdir(), "scoregate-cli-read-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (name: string, text: string): string => {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, text);
  return p;
};

describe("readScores", () => {
  it("names a stream it reads as stdin in its messages (empty, or bad rows)", async () => {
    expect((await inputError(readScores(fromText("")))).message).toBe("no scores in stdin");
    expect((await inputError(readScores(fromText("0.5\nx\n")))).message).toBe("1 bad row in stdin: fix or remove it");
  });

  it("reads a CSV with a header and a query column, grouping rows per query in order of first appearance", async () => {
    const f = file("scores.csv", "query_id,doc,score\nq1,a,0.9\nq2,b,0.1\nq1,c,0.5\nq2,d,0.25\nq3,e,0.7\n");
    const r = await readScores(f);
    expect(r.format).toBe("csv");
    expect(r.header).toEqual(["query_id", "doc", "score"]);
    expect(r.queryColumn).toBe("query_id");
    expect([...r.offsets!]).toEqual([0, 2, 4, 5]);
    expect([...r.scores]).toEqual([0.9, 0.5, 0.1, 0.25, 0.7]);
  });

  it("reads a CSV without a query column as flat scores", async () => {
    const r = await readScores(file("flat.csv", "doc,score\na,0.3\nb,0.6\n"));
    expect(r.offsets).toBeNull();
    expect([...r.scores]).toEqual([0.3, 0.6]);
  });

  it("handles CRLF line endings, a byte order mark and blank lines (also a trailing one)", async () => {
    const r = await readScores(file("excel.csv", "\ufeffquery_id,score\r\nq1,0.5\r\n\r\nq1,0.25\r\n   \r\nq2,0.125\r\n\r\n"));
    expect([...r.scores]).toEqual([0.5, 0.25, 0.125]);
    expect([...r.offsets!]).toEqual([0, 2, 3]);
    expect(r.blankLines).toBe(3);
  });

  it("keeps full precision: 17-digit scores come back as the same doubles", async () => {
    const rng = createRng(91);
    const xs = Array.from({ length: 1000 }, () => rng.normal());
    const r = await readScores(file("precise.txt", `${xs.map(String).join("\n")}\n`));
    expect(r.format).toBe("text");
    expect([...r.scores]).toEqual(xs);
  });

  it("reads quoted CSV fields (commas and doubled quotes inside queries)", async () => {
    const r = await readScores(file("quoted.csv", 'query,score\n"what is a, b?",0.5\n"say ""hi""",0.75\n"what is a, b?","0.25"\n'));
    expect(r.queryColumn).toBe("query");
    expect([...r.offsets!]).toEqual([0, 2, 3]);
    expect([...r.scores]).toEqual([0.5, 0.25, 0.75]);
    expect(splitQuoted('"a ""b""",c', ",")).toEqual(['a "b"', "c"]);
    expect(splitQuoted('"open,c', ",")).toBeNull();
  });

  it("reads TSV, picks columns by name or position, and turns the query grouping off with an empty --query-column", async () => {
    const tsv = await readScores(file("s.tsv", "qid\trelevance_score\nq1\t0.5\nq2\t0.25\n"));
    expect(tsv.format).toBe("tsv");
    expect(tsv.scoreColumn).toBe("relevance_score");
    expect(tsv.offsets).not.toBeNull();
    const off = await readScores(file("s2.tsv", "qid\trelevance_score\nq1\t0.5\nq2\t0.25\n"), { queryColumn: "" });
    expect(off.offsets).toBeNull();
    const positional = await readScores(file("nohead.csv", "q1,x,0.5\nq1,y,0.25\nq2,z,1\n"), { scoreColumn: "3", queryColumn: "1" });
    expect(positional.header).toBeNull();
    expect([...positional.offsets!]).toEqual([0, 2, 3]);
  });

  it("reads a semicolon CSV with decimal commas, as a decimal-comma locale's spreadsheet saves it", async () => {
    // the file that used to fail with 'line 2: "q1;0" is not a finite number'
    const r = await readScores(file("excel-de.csv", "\ufeffquery_id;doc_id;score\r\nq1;d1;0,734\r\nq1;d2;0,25\r\nq2;d3;-1,5\r\n"));
    expect(r.format).toBe("csv");
    expect(r.delimiter).toBe(";");
    expect(r.decimalComma).toBe(true);
    expect(r.queryColumn).toBe("query_id");
    expect([...r.scores]).toEqual([0.734, 0.25, -1.5]);
    expect([...r.offsets!]).toEqual([0, 2, 3]);
  });

  it("reads a TSV saved as .csv, a pipe-separated file, and quoted fields holding the separator", async () => {
    const tsv = await readScores(file("really-tab.csv", "qid\tdoc\tscore\nq1\ta, b\t0.5\nq2\tc; d\t0.25\n"));
    expect(tsv.format).toBe("tsv");
    expect(tsv.delimiter).toBe("\t");
    expect([...tsv.scores]).toEqual([0.5, 0.25]);
    const pipe = await readScores(file("pipe.csv", "query_id|score\nq1|0.5\nq2|0.25\n"));
    expect(pipe.delimiter).toBe("|");
    expect([...pipe.offsets!]).toEqual([0, 1, 2]);
    const quoted = await readScores(file("quoted-semi.csv", 'query;score\n"what; why";0,5\n"what; why";0,25\nother;1\n'));
    expect(quoted.delimiter).toBe(";");
    expect([...quoted.offsets!]).toEqual([0, 2, 3]);
  });

  it("detects the separator past blank lines and from a file with fewer lines than the sample, and --delimiter overrides it", async () => {
    const short = await readScores(fromText("\n\nq1;0,5\nq2;0,25\n"), { scoreColumn: "2", queryColumn: "1" });
    expect(short.delimiter).toBe(";");
    expect(short.header).toBeNull();
    expect([...short.scores]).toEqual([0.5, 0.25]);
    const forced = await readScores(fromText("a,b;score\nx,y;0.5\n"), { delimiter: ";" });
    expect(forced.header).toEqual(["a,b", "score"]);
    expect([...forced.scores]).toEqual([0.5]);
    // --format tsv splits at tabs only, so a comma stays inside its field
    const tsv = await readScores(fromText("q,x\tscore\nq1,a\t0.5\n"), { format: "tsv" });
    expect(tsv.delimiter).toBe("\t");
    expect(tsv.header).toEqual(["q,x", "score"]);
    const one = await readScores(fromText("score\n0.5\n"), { format: "csv" });
    expect(one.delimiter).toBeNull();
  });

  it("Excel's sep= first line names the separator and is not a row; --delimiter overrides it", async () => {
    const semi = await readScores(file("excel.csv", "sep=;\nquery_id;score\nq1;0,5\nq1;0,25\nq2;0,75\n"));
    expect([semi.delimiter, semi.decimalComma, semi.header, [...semi.scores]]).toEqual([";", true, ["query_id", "score"], [0.5, 0.25, 0.75]]);
    expect(semi.queryColumn).toBe("query_id");
    // a tab after sep= arrives trimmed
    const tab = await readScores(file("excel.txt", "sep=\t\nquery_id\tscore\nq1\t0.5\n"), { format: "csv" });
    expect([tab.delimiter, [...tab.scores]]).toEqual(["\t", [0.5]]);
    const given = await readScores(file("excel.csv", "SEP=;\nquery_id,score\nq1,0.5\n"), { delimiter: "," });
    expect([given.delimiter, [...given.scores]]).toEqual([",", [0.5]]);
    const other = await inputError(readScores(file("excel.csv", "sep=:\nquery_id:score\nq1:0.5\n")));
    expect(other.message).toBe('the first line "sep=:" names the separator ":": the CLI reads comma, semicolon, tab or pipe');
    // only the first line: a later "sep=;" is a row like any other
    const later = await inputError(readScores(file("later.csv", "score\n0.5\nsep=;\n")));
    expect(later.problems[0]).toMatch(/^line 3: "sep=;" is not a finite number/u);
  });

  it("a row split differently from the first row is a bad row that names the other separator", async () => {
    const rows = ["query_id,score", ...Array.from({ length: 30 }, (_, i) => `q${i},0.${i + 1}`), "q99;0.5"];
    const e = await inputError(readScores(file("mixed.csv", `${rows.join("\n")}\n`)));
    expect(e.problems).toEqual([
      "line 32: has 1 fields, the header has 2 (it holds a semicolon and the fields are split at each comma: if the semicolon separates them, pass --delimiter semicolon)",
    ]);
  });

  it("a header whose field count differs from the rows' is named as such, with line numbers, not blamed on the separator", async () => {
    const rows = ["query_id,score,label", ...Array.from({ length: 30 }, (_, i) => `q${i},0.${i + 1}`)];
    const e = await inputError(readScores(file("extra-header.csv", `${rows.join("\n")}\n`)));
    expect(e.message).toBe(
      'the header has 3 fields, the rows 2 (lines 2 to 20), split at each comma: line 1 is "query_id,score,label", line 2 "q0,0.1"',
    );
    expect(e.problems).toEqual([
      "the header names columns the rows lack: remove those names, or write the columns in every row",
      "if the comma does not separate the fields, pass --delimiter with the one that does",
    ]);
    // a header short of a column, past a blank line; and a first row that differs from the others
    const short = await inputError(readScores(file("short.csv", "\nscore\nq1;0.5;a\nq2;0.25;b\n")));
    expect(short.message).toBe('the header has 1 fields, the rows 3 (lines 3 to 4), split at each semicolon: line 2 is "score", line 3 "q1;0.5;a"');
    expect(short.problems[0]).toBe("the rows have columns the header does not name: name every column in the header");
    const first = await inputError(readScores(file("first.csv", "q0,0.5,x\nq1,0.25\nq2,0.5\n")));
    expect(first.message).toBe('the first row has 3 fields, the rows 2 (lines 2 to 3), split at each comma: line 1 is "q0,0.5,x", line 2 "q1,0.25"');
    // --delimiter comma reads the rows against the header, as before
    const given = await inputError(readScores(file("extra-header.csv", "query_id,score,label\nq0,0.5\nq1,0.25\n"), { delimiter: "," }));
    expect(given.problems).toEqual(["line 2: has 2 fields, the header has 3", "line 3: has 2 fields, the header has 3"]);
  });

  it('a .txt file of delimited rows (Excel\'s "Text (Tab delimited)" export) is read as one, a plain one stays one number a line', async () => {
    const tab = await readScores(file("excel_tab.txt", "qid\tdoc\tscore\r\nq1\ta\t0.5\r\nq1\tb\t0.25\r\nq2\tc\t0.75\r\n"));
    expect([tab.format, tab.delimiter, tab.queryColumn, [...tab.scores], [...tab.offsets!]]).toEqual([
      "tsv",
      "\t",
      "qid",
      [0.5, 0.25, 0.75],
      [0, 2, 3],
    ]);
    const pipe = await readScores(file("pipes.txt", "query_id|score\nq1|0.5\nq2|0.25\n"));
    expect([pipe.format, pipe.delimiter, [...pipe.scores]]).toEqual(["csv", "|", [0.5, 0.25]]);
    const semi = await readScores(file("excel.txt", "sep=;\nquery_id;score\nq1;0,5\nq2;0,25\n"));
    expect([semi.delimiter, [...semi.scores]]).toEqual([";", [0.5, 0.25]]);
    // one number a line: text, as always; a later line with a separator is a bad row of it, a decimal comma named
    const plain = await readScores(file("plain.txt", "0.5\n-1e-3\n0.25\n"));
    expect([plain.format, plain.delimiter, [...plain.scores]]).toEqual(["text", null, [0.5, -0.001, 0.25]]);
    const later = await inputError(readScores(file("later.txt", "0.5\nq1\t0.5\n")));
    expect(later.problems).toEqual(['line 2: "q1\\t0.5" is not a finite number']);
    const comma = await inputError(readScores(file("comma.txt", "0,42\n0.5\n")));
    expect(comma.problems).toEqual(['line 1: "0,42" is not a finite number (a decimal comma: write scores with a decimal point, 0.42)']);
    const word = await inputError(readScores(file("word.txt", "score\n0.5\n")));
    expect(word.problems).toEqual(['line 1: "score" is not a finite number']);
    // --format text still reads one number a line
    const forced = await inputError(readScores(file("forced.txt", "qid\tscore\nq1\t0.5\n"), { format: "text" }));
    expect(forced.problems[0]).toBe('line 1: "qid\\tscore" is not a finite number');
  });

  it("a one-column file with decimal commas reads them; a thousands separator is refused, not read as a decimal", async () => {
    const one = await readScores(file("one.csv", "score\n0,5\n0,25\n"));
    expect([...one.scores]).toEqual([0.5, 0.25]);
    // split at a separator no line holds (a tab), it is still the CSV its name says, not a TSV
    expect([one.format, one.delimiter]).toEqual(["csv", null]);
    expect((await readScores(file("one.tsv", "score\n0.5\n"))).format).toBe("tsv");
    const e = await inputError(readScores(file("thousands.tsv", "q\tscore\nq1\t0.5\nq2\t1,234\n")));
    expect(e.problems).toEqual([
      'line 3: "1,234" is not a finite number (it holds a comma and the fields are split at each tab: if the comma separates them, pass --delimiter comma)',
    ]);
  });

  it("a decimal comma where none is read says to write a decimal point or use the file's own delimiter", async () => {
    const comma = await inputError(readScores(file("quoted.csv", 'query_id,score\nq1,"0,42"\nq1,0.5\nq2," 0,25"\n')));
    expect(comma.problems).toEqual([
      'line 2: "0,42" is not a finite number (a decimal comma in a comma-separated file: write scores with a decimal point, 0.42, or save the file with its own delimiter, semicolons or tabs, where decimal commas are read)',
      'line 4: " 0,25" is not a finite number (a decimal comma in a comma-separated file: write scores with a decimal point, 0.25, or save the file with its own delimiter, semicolons or tabs, where decimal commas are read)',
    ]);
    const text = await inputError(readScores(fromText("0.5\n0,42\n"), { format: "text" }));
    expect(text.problems).toEqual(['line 2: "0,42" is not a finite number (a decimal comma: write scores with a decimal point, 0.42)']);
    // a one-column file of decimal commas without a header splits into two columns of digits at each comma
    const headerless = await inputError(readScores(file("one-column.csv", "0,42\n0,5\n0,25\n")));
    expect(headerless.message).toBe(
      'the CSV has two columns and no header row: pass --score-column N and --query-column N (1 = first column); if each line is one score with a decimal comma (0,42), add a header line "score" or pass --delimiter semicolon, and the comma is read as the decimal mark',
    );
    // the hints' advice holds: with a header, with --delimiter semicolon, or with semicolons between fields
    expect([...(await readScores(file("one-column.csv", "score\n0,42\n0,5\n"))).scores]).toEqual([0.42, 0.5]);
    expect([...(await readScores(file("one-column.csv", "0,42\n0,5\n"), { delimiter: ";" })).scores]).toEqual([0.42, 0.5]);
    expect([...(await readScores(file("semi.csv", "query_id;score\nq1;0,42\nq1;0,5\n"))).scores]).toEqual([0.42, 0.5]);
  });

  it("a given separator other than a comma still reads decimal commas (--delimiter semicolon, --format tsv)", async () => {
    const semi = await readScores(file("given.csv", "query_id;score\nq1;0,5\nq2;0,25\n"), { delimiter: ";" });
    expect([semi.decimalComma, [...semi.scores]]).toEqual([true, [0.5, 0.25]]);
    const tsv = await readScores(fromText("query_id\tscore\nq1\t0,5\nq2\t0,25\n"), { format: "tsv" });
    expect([tsv.decimalComma, [...tsv.scores]]).toEqual([true, [0.5, 0.25]]);
    // decimal points in the sample: a comma is not a decimal mark there, as detection decides
    const mixed = await inputError(readScores(fromText("query_id;score\nq1;0.5\nq2;0,25\n"), { delimiter: ";" }));
    expect(mixed.problems).toHaveLength(1);
    const comma = await readScores(fromText("query_id,score\nq1,0.5\n"), { delimiter: "," });
    expect([comma.decimalComma, [...comma.scores]]).toEqual([false, [0.5]]);
  });

  it("a score with a thousands separator is named as such, not blamed on the field separator", async () => {
    const semicolon = await inputError(readScores(file("grouped.csv", "query_id;score\nq1;0,5\nq1;0,75\nq2;0,25\nq2;1.234,5\n")));
    expect(semicolon.problems).toEqual([
      'line 5: "1.234,5" is not a finite number (it looks like a number with a thousands separator: write scores without one, e.g. 1234.5)',
    ]);
    const comma = await inputError(readScores(file("grouped-comma.csv", 'query_id,score\nq1,0.5\nq1,"1,234.5"\nq2,"12,345,678"\n')));
    expect(comma.problems).toEqual([
      'line 3: "1,234.5" is not a finite number (it looks like a number with a thousands separator: write scores without one, e.g. 1234.5)',
      'line 4: "12,345,678" is not a finite number (it looks like a number with a thousands separator: write scores without one, e.g. 1234.5)',
    ]);
    const text = await inputError(readScores(fromText("0.5\n1,234.5\n"), { format: "text" }));
    expect(text.problems).toEqual([
      'line 2: "1,234.5" is not a finite number (it looks like a number with a thousands separator: write scores without one, e.g. 1234.5)',
    ]);
  });

  it("a JSONL object holding a query's scores in an array (the API's NDJSON line) says to write the bare array", async () => {
    const ndjson = await inputError(readScores(file("api.jsonl", '{"scores": [0.9, 0.4]}\n{"scores": [0.7]}\n')));
    expect(ndjson.message).toBe(
      'line 1\'s field "scores" is an array: a line with one query\'s scores is the bare array ([0.91, 0.42, 0.07]); an object is one candidate ({"query_id": "q1", "score": 0.91})',
    );
    const named = await inputError(readScores(file("named.jsonl", '{"score": [0.9, 0.4]}\n'), { scoreColumn: "score" }));
    expect(named.problems[0]).toMatch(/^line 1: field "score" is an array: a line with one query's scores is the bare array/u);
    const arrays = await readScores(file("arrays.jsonl", "[0.9, 0.4]\n[0.7]\n"));
    expect([...arrays.offsets!]).toEqual([0, 2, 3]);
  });

  it("an API request body (the walk-through's fixtures) is named as one, with curl and the conversion to a score file", async () => {
    const v2 = readFileSync(new URL("../../../fixtures/walkthrough/v2.json", import.meta.url), "utf8");
    const path = file("v2.json", v2);
    const body = await inputError(readScores(path));
    expect(body.message).toBe(
      'line 1 is an API request body (POST /v1/calibrations: "embedding", "reranker", "index_version", "policy", "queries"), not a score file: scoregate calibrate reads scores (CSV, TSV, JSONL or one per line) and sends the gate and policy from its flags',
    );
    expect(body.problems).toEqual([
      `send it as it is: curl -X POST "$SCOREGATE_URL/v1/calibrations" -H "Authorization: Bearer $SCOREGATE_TOKEN" -H "Content-Type: application/json" --data @${path}`,
      `or write its scores as a file for this command: jq -r '.queries | to_entries[] | .key as $q | .value[] | "q\\($q),\\(.)"' ${path} | sed '1i query_id,score' > scores.csv (as the README's CLI section does)`,
    ]);
    // flat scores: one score per line
    const flat = await inputError(
      readScores(
        file(
          "flat.json",
          '{"embedding": "e5", "reranker": "bge", "index_version": "v1", "policy": {"kind": "drop_rate", "target": 0.2}, "scores": [0.1, 0.5]}\n',
        ),
      ),
    );
    expect(flat.problems[1]).toMatch(/jq -r '\.scores\[\]' \S+ > scores\.txt \(one score per line\)$/u);
    // an NDJSON upload: its metadata line, then query arrays
    const ndjson = await inputError(
      readScores(
        file(
          "upload.ndjson",
          '{"embedding": "e5", "reranker": "bge", "index_version": "v1", "policy": {"kind": "carry", "reference": "active"}}\n[0.9, 0.4]\n',
        ),
      ),
    );
    expect(ndjson.message).toMatch(/^line 1 is the first line of an API request body \(an NDJSON upload: /u);
    expect(ndjson.problems[0]).toContain('-H "Content-Type: application/x-ndjson" --data-binary @');
    expect(ndjson.problems[1]).toMatch(/tail -n \+2 \S+ > scores\.jsonl$/u);
    // the same body written over several lines
    const pretty = await inputError(readScores(file("pretty.json", JSON.stringify(JSON.parse(v2), null, 2))));
    expect(pretty.message).toMatch(/^\S+pretty\.json is one JSON object written over several lines \(line 1 is "\{"\), not JSONL/u);
    expect(pretty.problems[0]).toContain("send it with curl: curl -X POST");
    // a candidate's row with a field of the same name is no API body
    const rows = await readScores(
      file("rows.jsonl", '{"query_id": "q1", "score": 0.9, "embedding": "e5"}\n{"query_id": "q1", "score": 0.4, "embedding": "e5"}\n'),
    );
    expect([...rows.scores]).toEqual([0.9, 0.4]);
  });

  it("a UTF-16 file (a spreadsheet's Unicode text) is named as such, with what to save it as", async () => {
    for (const bom of [Buffer.from([0xff, 0xfe]), Buffer.from([0xfe, 0xff])]) {
      const text = Buffer.from("query_id\tscore\r\nq1\t0.5\r\n", "utf16le");
      const body = bom[0] === 0xff ? text : text.swap16();
      const path = join(dir, `${n++}-unicode.txt`);
      writeFileSync(path, Buffer.concat([bom, body]));
      const e = await inputError(readScores(path));
      expect(e.message).toBe(
        'this file is UTF-16 text (a spreadsheet\'s "Unicode text"): save it as UTF-8 ("CSV UTF-8"), or convert it, e.g. iconv -f UTF-16 -t UTF-8',
      );
    }
  });

  it("a binary file (gzip) is refused once as not text, not as a page of garbled bad rows", async () => {
    const { gzipSync } = await import("node:zlib");
    const path = join(dir, "scores.csv.gz");
    writeFileSync(path, gzipSync(`query_id,score\n${"q1,0.5\n".repeat(500)}`));
    const e = await inputError(readScores(path, { format: "csv" }));
    expect(e.message).toMatch(/^this is not a text file \(its first line holds NUL bytes or bytes that are not UTF-8\)/u);
    expect(e.problems).toEqual([]);
    // a text file with one stray byte that is not UTF-8 is still read row by row
    const one = await readScores(file("stray.csv", "query_id,score\nq\uFFFD1,0.5\nq2,0.25\n"));
    expect(one.scores.length).toBe(2);
  });

  it("JSONL scores written as strings say that scores are JSON numbers, with the number to write", async () => {
    const lines = await inputError(readScores(file("strings.jsonl", '"0.42"\n"0,5"\n"n/a"\n')));
    expect(lines.problems).toEqual([
      'line 1: is the string "0.42": scores are JSON numbers, written without quotes (0.42)',
      'line 2: is the string "0,5": scores are JSON numbers, written without quotes (0.5)',
      'line 3: is the string "n/a": scores are JSON numbers, written without quotes',
    ]);
    const arrays = await inputError(readScores(file("arrays.jsonl", '[0.9, "0.42"]\n[0.7, null]\n')));
    expect(arrays.problems).toEqual([
      'line 1: a query must be an array of finite numbers: its entry 2 is the string "0.42": scores are JSON numbers, written without quotes (0.42)',
      "line 2: a query must be an array of finite numbers",
    ]);
    // an object's score field may be a string that holds a number (as labels may); one that does not is named
    const objects = await inputError(readScores(file("objects.jsonl", '{"query_id": "a", "score": "0.42"}\n{"query_id": "a", "score": "0,42"}\n')));
    expect(objects.problems).toEqual([
      'line 2: field "score" is not a finite number: the string "0,42": scores are JSON numbers, written without quotes (0.42)',
    ]);
  });

  it("NaN and Infinity in JSONL (as Python's json.dumps writes them) are named, not only invalid JSON", async () => {
    const e = await inputError(
      readScores(file("nan.jsonl", '{"score": NaN}\n[0.5, -Infinity]\n{"score": 0.5}\n{"score": "NaN"}\n{"score": 0.5,}\n')),
    );
    expect(e.problems).toEqual([
      "line 1: is not valid JSON (NaN and Infinity are not JSON, and a score must be a finite number)",
      "line 2: is not valid JSON (NaN and Infinity are not JSON, and a score must be a finite number)",
      'line 4: field "score" is not a finite number: the string "NaN": scores are JSON numbers, written without quotes',
      "line 5: is not valid JSON",
    ]);
  });

  it("a file read as JSONL of which no line is JSON is refused once, with the format it reads as", async () => {
    const csv = "query_id,score\nq1,0.5\nq2,0.25\n";
    const flag = await inputError(readScores(file("scores.csv", csv), { format: "jsonl" }));
    expect([flag.message, flag.problems]).toEqual([
      `no line of ${join(dir, `${n - 1}-scores.csv`)} is JSON, so it is not JSONL (--format jsonl says it is): it reads as CSV: pass --format csv or none`,
      [],
    ]);
    const named = await inputError(readScores(file("scores.jsonl", "query_id\tscore\nq1\t0.5\n")));
    expect(named.message).toMatch(/is not JSONL \(its name says it is\): it reads as TSV: pass --format tsv$/u);
    // one JSON line: the others are bad rows, as before
    const mixed = await inputError(readScores(file("mixed.jsonl", "[0.5]\nq1,0.5\n")));
    expect(mixed.problems).toEqual(["line 2: is not valid JSON"]);
  });

  it("reads JSONL objects, bare numbers and one query per line", async () => {
    const objects = await readScores(
      file("s.jsonl", '{"query_id": 1, "score": 0.5}\n{"query_id": 2, "score": 0.25}\n{"query_id": 1, "score": 0.75}\n'),
    );
    expect([...objects.offsets!]).toEqual([0, 2, 3]);
    expect([...objects.scores]).toEqual([0.5, 0.75, 0.25]);
    const numbers = await readScores(fromText("0.5\n0.25\n"), { format: "jsonl" });
    expect(numbers.offsets).toBeNull();
    const queries = await readScores(fromText("[0.5, 0.25]\n[0.125]\n"));
    expect(queries.format).toBe("jsonl");
    expect([...queries.offsets!]).toEqual([0, 2, 3]);
  });

  it("reports bad rows with their line numbers (at most ten, and the total)", async () => {
    const rows = ["query_id,score", "q1,0.5", "q1,", "q2,abc", "q3,1e400", "q4,NaN", "q5,0.5,extra", ",0.5"];
    const e = await inputError(readScores(file("bad.csv", `${rows.join("\n")}\n`)));
    expect(e.message).toMatch(/^6 bad rows in /u);
    expect(e.problems).toEqual([
      'line 3: "" is not a finite number',
      'line 4: "abc" is not a finite number',
      'line 5: "1e400" is not a finite number',
      'line 6: "NaN" is not a finite number',
      "line 7: has 3 fields, the header has 2",
      "line 8: the query column is empty",
    ]);
    const many = await inputError(readScores(file("many.txt", `${Array.from({ length: 25 }, (_, i) => `x${i}`).join("\n")}\n`), { format: "text" }));
    expect(many.message).toMatch(/^25 bad rows/u);
    expect(many.problems).toHaveLength(10);
  });

  it("says which flag to pass when the score column is ambiguous or missing", async () => {
    const e = await inputError(readScores(file("cols.csv", "a,b,c\n1,2,3\n")));
    expect(e.message).toContain("--score-column");
    const e2 = await inputError(readScores(file("cols2.csv", "a,b\n1,2\n"), { scoreColumn: "score" }));
    expect(e2.message).toContain('there is no score column "score"');
    const e3 = await inputError(readScores(file("empty.csv", "query_id,score\n\n")));
    expect(e3.message).toContain("only a header row");
    const e4 = await inputError(readScores(join(dir, "missing.csv")));
    expect(e4.message).toContain("no such file");
  });

  it("refuses several recognised score columns, naming each and --score-column; the flag chooses", async () => {
    const both = file("both.csv", "query_id,doc_id,score,rerank_score\nq1,d1,0.7,-0.25\nq1,d2,0.5,0.125\n");
    expect((await inputError(readScores(both))).message).toBe(
      'several score columns: "score" (column 3), "rerank_score" (column 4); which holds the scores? pass --score-column NAME with the one to read',
    );
    // whichever comes first
    const reversed = file("reversed.csv", "query_id,rerank_score,score\nq1,-0.25,0.7\n");
    expect((await inputError(readScores(reversed))).message).toMatch(/^several score columns: "rerank_score" \(column 2\), "score" \(column 3\);/u);
    const chosen = await readScores(both, { scoreColumn: "rerank_score" });
    expect(chosen.scoreColumn).toBe("rerank_score");
    expect([...chosen.scores]).toEqual([-0.25, 0.125]);
    // JSONL objects: fields
    const jsonl = '{"query_id": "q1", "score": 0.7, "reranker_score": 0.5}\n';
    expect((await inputError(readScores(fromText(jsonl)))).message).toBe(
      'several score fields: "score", "reranker_score"; which holds the scores? pass --score-column NAME with the one to read',
    );
    expect([...(await readScores(fromText(jsonl), { scoreColumn: "reranker_score" })).scores]).toEqual([0.5]);
  });

  it("refuses a score column named twice, also when --score-column names it; its position chooses", async () => {
    const dup = file("dup.csv", "query_id,score,score\nq1,0.7,-0.25\nq1,0.5,0.125\n");
    expect((await inputError(readScores(dup))).message).toBe(
      'several score columns: "score" (column 2), "score" (column 3); which holds the scores? a name given twice cannot be chosen by name: rename the columns, or pass --score-column N with the position of the one to read (1 = first column)',
    );
    expect((await inputError(readScores(dup, { scoreColumn: "score" }))).message).toBe(
      '--score-column "score" is ambiguous: the header has 2 columns of that name, "score" (column 2), "score" (column 3): rename them, or pass the position of the score column (--score-column 2)',
    );
    expect((await inputError(readScores(dup, { scoreColumn: "SCORE" }))).message).toMatch(/^--score-column "SCORE" is ambiguous/u);
    const third = await readScores(dup, { scoreColumn: "3" });
    expect(third.header).toEqual(["query_id", "score", "score"]);
    expect([...third.scores]).toEqual([-0.25, 0.125]);
    // a repeated name another flag names
    const q = file("dupq.csv", "qid,qid,s\na,b,0.5\n");
    expect((await inputError(readScores(q, { scoreColumn: "s", queryColumn: "qid" }))).message).toMatch(/^--query-column "qid" is ambiguous/u);
  });

  it("several recognised query columns of different names (an id and the query's text): the id is read; a name twice is refused; either flag chooses", async () => {
    // two queries share a text: grouped by query_id, whichever column comes first
    const idAndText = file("idtext.csv", "query,query_id,score\nwhat is x,q1,0.5\nwhat is x,q1,0.25\nwhat is x,q2,0.75\n");
    const read = await readScores(idAndText);
    expect(read.queryColumn).toBe("query_id");
    expect([...read.offsets!]).toEqual([0, 2, 3]);
    const two = file("twoq.csv", "qid,query_id,score\nq1,1,0.5\nq1,1,0.25\nq2,2,0.75\n");
    expect((await readScores(two)).queryColumn).toBe("query_id");
    const chosen = await readScores(two, { queryColumn: "qid" });
    expect(chosen.queryColumn).toBe("qid");
    expect([...chosen.offsets!]).toEqual([0, 2, 3]);
    expect((await readScores(two, { queryColumn: "" })).offsets).toBeNull();
    const dup = file("dupq2.csv", "query_id,query_id,score\nq1,x,0.5\n");
    expect((await inputError(readScores(dup))).message).toMatch(
      /^several query columns: "query_id" \(column 1\), "query_id" \(column 2\); .* pass --query-column N with the position/u,
    );
    // JSONL fields that differ in case only are chosen by their exact name
    const cased = await inputError(readScores(fromText('{"score": 0.5, "Score": 0.7}\n')));
    expect(cased.message).toContain("pass --score-column NAME with the one to read (exactly as written: the names differ in case only)");
    expect([...(await readScores(fromText('{"score": 0.5, "Score": 0.7}\n'), { scoreColumn: "Score" })).scores]).toEqual([0.7]);
    const jsonl = '{"query": "what is x", "qid": 7, "score": 0.5}\n';
    expect((await readScores(fromText(jsonl))).queryColumn).toBe("qid");
    expect((await readScores(fromText(jsonl), { queryColumn: "query" })).queryColumn).toBe("query");
  });

  it("refuses a column that looks like a query id when none is named or recognised; --query-column or an empty one (--no-query-column) decides", async () => {
    const rows = ["question_id,ce_score", "q1,0.5", "q1,0.25", "q2,0.75", "q2,0.125", "q3,0.375", "q3,0.625"].join("\n");
    const p = file("question.csv", `${rows}\n`);
    const e = await inputError(readScores(p, { scoreColumn: "ce_score" }));
    expect(e.message).toBe(
      "column question_id looks like a query id: pass --query-column question_id to keep per-query statistics, or --no-query-column to upload the scores as one flat list",
    );
    const grouped = await readScores(p, { scoreColumn: "ce_score", queryColumn: "question_id" });
    expect([...grouped.offsets!]).toEqual([0, 2, 4, 6]);
    const flat = await readScores(p, { scoreColumn: "ce_score", queryColumn: "" });
    expect(flat.offsets).toBeNull();
    expect(flat.scores.length).toBe(6);
    // by its values alone: a column without a query-like name (or a file without a header) whose values come in runs
    const runs = ["q", "q", "r", "r", "s", "s"].map((q, i) => `${q},${i / 10}`);
    expect((await inputError(readScores(file("topic.csv", `topic,score\n${runs.join("\n")}\n`)))).message).toMatch(
      /^column topic looks like a query id: pass --query-column topic /u,
    );
    expect((await inputError(readScores(file("nohead-runs.csv", `${runs.join("\n")}\n`), { scoreColumn: "2" }))).message).toMatch(
      /^column 1 looks like a query id: pass --query-column 1 /u,
    );
    // JSONL objects too
    const jsonl = ["q1", "q1", "q2", "q3"].map((q, i) => JSON.stringify({ group_id: q, ce: i / 4 })).join("\n");
    expect((await inputError(readScores(fromText(jsonl), { format: "jsonl", scoreColumn: "ce" }))).message).toMatch(/^column group_id looks like/u);
  });

  it("does not take a candidate's id, a label or a constant for a query id", async () => {
    for (const text of [
      "doc_id,score\nd1,0.5\nd1,0.25\nd2,0.75\n", // a document's id, even repeated
      "pid,score\np1,0.5\np1,0.25\n",
      "id,score\n1,0.5\n2,0.25\n3,0.75\n", // a row id: no value twice
      "label,score\n1,0.5\n1,0.25\n0,0.75\n0,0.1\n1,0.2\n", // values come back: not runs of queries
      "model,score\nbge,0.5\nbge,0.25\nbge,0.75\n", // one value
      "model_id,score\nbge,0.5\nbge,0.25\nbge,0.75\n", // one value, with a query-like name: metadata of the whole file
      "run_id,score\nr1,0.5\nr1,0.25\nr2,0.75\nr2,0.1\n", // two values: fewer than QUERY_RUN_MIN_VALUES
      "split,score\ntrain,0.5\ntrain,0.25\ntest,0.75\ntest,0.1\n", // two runs: fewer than QUERY_RUN_MIN_VALUES
    ]) {
      const r = await readScores(file("flat.csv", text));
      expect(r.offsets, text).toBeNull();
    }
  });

  it("refuses a query with more candidates than the server accepts, naming the query column", async () => {
    const rows = Array.from({ length: 10_001 }, (_, i) => `same,${i / 10_001}`);
    const e = await inputError(readScores(file("onequery.csv", `index_name,score\n${rows.join("\n")}\n`), { queryColumn: "index_name" }));
    expect(e.message).toContain("10,001 candidates");
  });

  // 100,000 scores here; the 1,000,000-score file of the same shape (the largest upload) is read, uploaded and fitted
  // end to end in cli.live.test.ts, which asserts its count, its query count and its exact threshold.
  it("streams a 100,000-score CSV with a query column into typed arrays", async () => {
    const rng = createRng(7);
    const parts: string[] = ["query_id,score\n"];
    for (let q = 0; q < 5_000; q++) {
      let s = "";
      for (let d = 0; d < 20; d++) s += `q${q},${rng.next().toFixed(6)}\n`;
      parts.push(s);
    }
    const r = await readScores(file("100k.csv", parts.join("")));
    expect(r.scores.length).toBe(100_000);
    expect(r.offsets!.length).toBe(5_001);
    expect(r.scores).toBeInstanceOf(Float64Array);
  }, 60_000);
});

describe("readScores with --label-column", () => {
  it("reads each row's label beside its score, permuted with it when rows are grouped into queries", async () => {
    const f = file("labelled.csv", "query_id,doc,score,relevance\nq1,a,0.9,1\nq2,b,0.1,0\nq1,c,0.5,0\nq2,d,0.25,2\nq3,e,0.7,1\n");
    const r = await readScores(f, { labelColumn: "relevance" });
    expect(r.labelColumn).toBe("relevance");
    expect([...r.offsets!]).toEqual([0, 2, 4, 5]);
    expect([...r.scores]).toEqual([0.9, 0.5, 0.1, 0.25, 0.7]);
    expect([...r.labels!]).toEqual([1, 0, 0, 2, 1]);
    // without the option nothing is read: the column is just another one
    expect((await readScores(f)).labels).toBeNull();
  });

  it("a position without a header, decimal commas, and JSONL objects", async () => {
    const semi = await readScores(fromText("q1;0,9;1\nq1;0,4;0\nq2;0,7;1\n"), { scoreColumn: "2", queryColumn: "1", labelColumn: "3" });
    expect([...semi.labels!]).toEqual([1, 0, 1]);
    expect([...semi.scores]).toEqual([0.9, 0.4, 0.7]);
    const jsonl = await readScores(
      fromText('{"qid":"a","score":0.3,"rel":1}\n{"qid":"b","score":0.6,"rel":"0"}\n{"qid":"a","score":0.1,"rel":0}\n'),
      {
        format: "jsonl",
        labelColumn: "rel",
      },
    );
    expect([...jsonl.scores]).toEqual([0.3, 0.1, 0.6]);
    expect([...jsonl.labels!]).toEqual([1, 0, 0]);
    expect(jsonl.labelColumn).toBe("rel");
  });

  it("bad labels are bad rows with their line numbers; a missing or shared column and layouts without columns are refused", async () => {
    const bad = await inputError(readScores(fromText("query_id,score,label\nq1,0.5,yes\nq1,0.2,\nq2,0.3,1\n"), { labelColumn: "label" }));
    expect(bad.problems).toEqual(['line 2: the label "yes" is not a finite number', 'line 3: the label "" is not a finite number']);
    const missing = await inputError(readScores(fromText('{"query":"a","score":0.3}\n'), { format: "jsonl", labelColumn: "rel" }));
    expect(missing.problems).toEqual(['line 1: field "rel" (the label) is missing']);
    const noColumn = await inputError(readScores(fromText("query_id,score\nq1,0.5\n"), { labelColumn: "label" }));
    expect(noColumn.message).toContain('there is no label column "label"');
    const same = await inputError(readScores(fromText("query_id,score\nq1,0.5\n"), { labelColumn: "score" }));
    expect(same.message).toBe("the label column is the same column as the score column");
    const arrays = await inputError(readScores(fromText("[0.5,0.2]\n"), { format: "jsonl", labelColumn: "label" }));
    expect(arrays.message).toContain("a JSONL file of arrays has none");
    const text = await inputError(readScores(fromText("0.5\n0.2\n"), { format: "text", labelColumn: "label" }));
    expect(text.message).toContain("a plain score file has none");
  });
});
