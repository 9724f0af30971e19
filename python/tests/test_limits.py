"""The Python client's copies of API limits equal the contract's (src/contract/limits.ts)."""

import re
import unittest
from pathlib import Path

from scoregate import client

LIMITS_TS = Path(__file__).resolve().parents[2] / "src" / "contract" / "limits.ts"


class LimitsTests(unittest.TestCase):
    def test_limits_match_the_contract(self) -> None:
        text = LIMITS_TS.read_text(encoding="utf8")
        for name in (
            "MAX_OBSERVATION_QUERIES",
            "MAX_OBSERVATION_SCORES",
            "MAX_CANDIDATES_PER_QUERY",
            "MAX_BATCH_ID_LENGTH",
            "THRESHOLD_MAX_AGE_SECONDS",
            "THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS",
            "THRESHOLD_STALE_IF_ERROR_SECONDS",
        ):
            m = re.search(rf"export const {name} = ([0-9_]+);", text)
            self.assertIsNotNone(m, name)
            self.assertEqual(getattr(client, name), int(m.group(1).replace("_", "")), name)
