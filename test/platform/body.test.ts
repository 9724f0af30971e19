import { describe, expect, it } from "vitest";
import { duplicateKey } from "../../src/platform/http/body";
import { checkQueryNames, nearest } from "../../src/platform/routing";

describe("duplicateKey", () => {
  it.each([
    ['{"a": 1, "b": 2}', null],
    ['{"a": 1, "a": 2}', "a"],
    ['{"a": 1, "\\u0061": 2}', "a"],
    ['{"p": {"t": 0.3, "t": 0}}', "p.t"],
    ['{"q": [{"x": 1}, {"x": 1, "x": 2}]}', "q[1].x"],
    ['{"s": "a\\"b{\\"s\\": 1}", "t": "{,}"}', null],
    ['[{"a": 1}, {"a": 1}]', null],
    ['{"a": {"a": 1}, "b": [1, 2, {"a": 3}]}', null],
    ['{"a": [], "a": []}', "a"],
    ["[0.1, 0.2, 0.3]", null],
  ])("%s -> %s", (text, expected) => {
    JSON.parse(text); // the scanner is only called on valid JSON
    expect(duplicateKey(text)).toBe(expected);
  });
});

describe("query names", () => {
  it("suggests the nearest accepted name for a typo, nothing for something unrelated", () => {
    expect(nearest("index_verison", ["index", "embedding", "reranker", "index_version"])).toBe("index_version");
    expect(nearest("embeding", ["index", "embedding", "reranker"])).toBe("embedding");
    expect(nearest("colour", ["index", "embedding", "reranker"])).toBeNull();
  });

  it("passes accepted, single parameters and refuses unknown or repeated ones", () => {
    expect(() => checkQueryNames("http://x/v1?a=1&b=2", ["a", "b"])).not.toThrow();
    expect(() => checkQueryNames("http://x/v1?a=1&a=2", ["a"])).toThrow(/repeated query parameter\(s\) "a"/u);
    expect(() => checkQueryNames("http://x/v1?c=1", ["a"])).toThrow(/unknown query parameter\(s\) "c"/u);
    expect(() => checkQueryNames("http://x/v1?c=1", [])).toThrow(/takes no query parameters/u);
  });
});
