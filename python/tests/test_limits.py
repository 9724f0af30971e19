"""The Python client's copies of API limits equal the contract's (src/contract/limits.ts), and its defaults equal the
TypeScript client's (packages/client/src), so both clients behave alike out of the box."""

import inspect
import re
import unittest
from pathlib import Path

from scoregate import Client, _types

ROOT = Path(__file__).resolve().parents[2]
LIMITS_TS = ROOT / "src" / "contract" / "limits.ts"
CLIENT_TS = ROOT / "packages" / "client" / "src"


def ts_number(text: str) -> float:
    return float(text.replace("_", ""))


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
            self.assertEqual(getattr(_types, name), int(m.group(1).replace("_", "")), name)

    def test_defaults_match_the_typescript_client(self) -> None:
        ts = "\n".join(p.read_text(encoding="utf8") for p in sorted(CLIENT_TS.glob("*.ts")))
        defaults = {k: p.default for k, p in inspect.signature(Client.__init__).parameters.items() if p.default is not p.empty}
        # (python option, factor to TypeScript units, pattern of the TypeScript default)
        pairs = [
            ("timeout", 1000, r"DEFAULT_TIMEOUT_MS = ([0-9_]+)"),
            ("backoff_initial", 1000, r"initialMs \?\? ([0-9_]+)"),
            ("backoff_max", 1000, r"maxMs \?\? ([0-9_]+)"),
            ("max_gates", 1, r"maxGates \?\? ([0-9_]+)"),
            ("max_queued", 1, r"maxQueued \?\? ([0-9_]+)"),
            ("batch_size", 1, r"batchSize \?\? ([0-9_]+)"),
            ("flush_interval", 1000, r"flushIntervalMs \?\? ([0-9_]+)"),
            ("max_scores", 1, r"maxScores \?\? ([0-9_]+)"),
        ]
        for option, factor, pattern in pairs:
            m = re.search(pattern, ts)
            self.assertIsNotNone(m, f"{pattern} not found in {CLIENT_TS}")
            self.assertEqual(defaults[option] * factor, ts_number(m.group(1)), option)
