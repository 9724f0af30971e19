"""Arm assignment (scoregate._assignment): the reference algorithm's published vectors and the shared table the
TypeScript SDK also reproduces (fixtures/assignment.json, made by fixtures/assignment-generate.py) with its shadow
sampling table, plus the balance
of one step over 100,000 keys (the SDK's test covers the chi-square and the other shapes)."""

from __future__ import annotations

import json
import math
import unittest
from pathlib import Path

from scoregate._assignment import BASIS_POINTS, bucket_of, murmur3, shadows_taking, utf8

FIXTURE = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "assignment.json").read_text(encoding="utf8"))


class AssignmentTest(unittest.TestCase):
    def test_published_vectors(self) -> None:
        for v in FIXTURE["published"]:
            self.assertEqual(murmur3(v["input"].encode("utf-8"), v["seed"]), v["hash"], v)

    def test_shared_table(self) -> None:
        self.assertEqual(len(FIXTURE["cases"]), 2000)
        for salt, key, h, bucket in FIXTURE["cases"]:
            self.assertEqual(murmur3(utf8(f"{salt}:{key}")), h, (salt, key))
            self.assertEqual(bucket_of(salt, key), bucket, (salt, key))
        # keys with lone surrogates are in the table, as JSON reads them (TextEncoder counts each as U+FFFD)
        self.assertGreaterEqual(sum(1 for _, key, _, _ in FIXTURE["cases"] if any(0xD800 <= ord(c) <= 0xDFFF for c in key)), 5)

    def test_utf8_is_text_encoders_for_lone_surrogates_and_pairs_of_surrogate_code_points(self) -> None:
        # the bytes TextEncoder gives for the same UTF-16 code units
        cases = {
            "user-\ud800": b"user-\xef\xbf\xbd",
            "\udc00\ud800": b"\xef\xbf\xbd\xef\xbf\xbd",
            "\ud83d\ude00": "\U0001f600".encode("utf-8"),  # a pair written as two code points: the character
            "\ud83d\ud83d\ude00\ude00": b"\xef\xbf\xbd" + "\U0001f600".encode("utf-8") + b"\xef\xbf\xbd",
            "é\U0001f600": "é\U0001f600".encode("utf-8"),
        }
        for text, expected in cases.items():
            self.assertEqual(utf8(text), expected, ascii(text))
        self.assertEqual(bucket_of("prm_1", "user-\ud800"), bucket_of("prm_1", "user-\ufffd"))

    def test_shared_shadow_sampling_table(self) -> None:
        sampling = FIXTURE["shadow_sampling"]
        self.assertEqual(len(sampling["cases"]), 400)
        for key, index_version, taken in sampling["cases"]:
            got = shadows_taking(sampling["shadows"], key, index_version)
            self.assertEqual([s["calibration_id"] for s in got], taken, (key, index_version))

    def test_ten_percent_step_takes_its_share(self) -> None:
        n = 100_000
        inside = sum(1 for i in range(n) if bucket_of("prm_7f3a9c2e1b", f"user-{i}") < 1000)
        # normal approximation of the binomial 99.9 % interval (z = 3.29): n p = 10,000, sd = 94.9
        self.assertLess(abs(inside - n * 0.1), 3.29 * math.sqrt(n * 0.1 * 0.9) + 1)
        self.assertTrue(all(0 <= bucket_of("s", f"k{i}") < BASIS_POINTS for i in range(1000)))


if __name__ == "__main__":
    unittest.main()
