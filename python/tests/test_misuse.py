"""What a caller can get wrong, for both clients: a token read from a secret file, malformed reports (ignored, counted and
logged once per kind), gate() input (any iterable; candidates that are none, a gate without embedding and reranker
strings, a missing argument or a mistyped ``unscored`` is answered as the TypeScript client answers it, never raised), and an AsyncClient that
outlives its first event loop."""

from __future__ import annotations

import asyncio
import inspect
import logging
import numbers
import time
import types
import unittest
from typing import Any, Iterator, List

import scoregate
from scoregate import AsyncClient, Client, Gate
from support import StubServer, ok

GATE = Gate("e5", "bge", index="docs")
CAL = "cal_0000000000aa"
# the client logs each failure once; tests that expect a line capture it with assertLogs (which lowers this level)
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


class Count:
    """An integer type that is not ``int`` (as numpy's ``int64`` is not): registered as ``numbers.Integral``."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __int__(self) -> int:
        return self.n

    __index__ = __int__


numbers.Integral.register(Count)


class Failing:
    """An iterable whose iterator fails after one item (a caller's own generator that raises)."""

    def __iter__(self) -> Iterator[Any]:
        yield {"score": 0.9}
        raise RuntimeError("the caller's iterator")


class StubCase(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = StubServer()
        self.stub.handler = lambda m, p, h, b: (202, {}, {"accepted": True}) if m == "POST" else ok()
        self.clients: List[Client] = []

    def tearDown(self) -> None:
        for c in self.clients:
            c.close()
        self.stub.close()

    def client(self, token: str = "t") -> Client:
        c = Client(self.stub.url, token, background=False)
        self.clients.append(c)
        return c


class TokenTests(StubCase):
    def test_surrounding_whitespace_is_stripped_so_a_token_read_from_a_file_works(self) -> None:
        for token in ("secret\n", "  secret\r\n", "\tsecret "):
            with self.subTest(token=token):
                self.stub.requests.clear()
                c = self.client(token)
                r = c.get_threshold(GATE, fallback=0.5)
                self.assertEqual((r.reason, r.error), ("calibrated", None))
                c.report(3, 1, calibration_id=CAL)
                self.assertEqual(c.flush().sent_batches, 1)
                self.assertEqual([q["headers"]["Authorization"] for q in self.stub.requests], ["Bearer secret"] * 2)

    def test_a_control_or_non_ascii_character_inside_is_refused_at_construction_without_echoing_the_token(self) -> None:
        for token, shown in (("sec\nret", "'\\n' at position 3"), ("sec\x00ret", "'\\x00' at position 3"), ("sécret", "'é' at position 1")):
            for cls in (Client, AsyncClient):
                with self.subTest(token=token, cls=cls.__name__):
                    with self.assertRaises(ValueError) as caught:
                        cls(self.stub.url, token, background=False)
                    self.assertIn(shown, str(caught.exception))
                    self.assertNotIn("ret", str(caught.exception))
        for token in ("", " \n", None):
            with self.subTest(token=token), self.assertRaises(TypeError):
                Client(self.stub.url, token, background=False)  # type: ignore[arg-type]
        # no token at all: the client's own words (it said "ClientBase.__init__() missing 1 required positional argument")
        for cls in (Client, AsyncClient):
            with self.subTest(cls=cls.__name__), self.assertRaises(TypeError) as caught:
                cls(self.stub.url, background=False)
            self.assertEqual(str(caught.exception), "scoregate: token is required: Client(base_url, token), a token of the server's (locally: dev-read)")


class TimeoutTests(unittest.TestCase):
    def test_a_timeout_that_is_not_a_positive_number_is_refused_at_construction(self) -> None:
        # it is every request's total deadline: None would hold callers and worker threads forever
        for timeout in (None, 0, 0.0005, -1.0, float("nan"), float("inf"), "2", True):
            for cls in (Client, AsyncClient):
                with self.subTest(timeout=timeout, cls=cls.__name__), self.assertRaises(ValueError):
                    cls("http://127.0.0.1:9", "t", timeout=timeout, background=False)  # type: ignore[arg-type]
        Client("http://127.0.0.1:9", "t", timeout=1, background=False).close()  # an int is a number of seconds


class NumericOptionTests(unittest.TestCase):
    def test_numeric_options_out_of_range_or_not_numbers_are_refused_at_construction_as_in_the_typescript_client(self) -> None:
        # a string from an environment variable killed the flush thread; NaN turned off backoff; 0 cached nothing
        bad = [
            ("flush_interval", "5"),
            ("flush_interval", float("nan")),
            ("flush_interval", 0),
            ("backoff_initial", float("nan")),
            ("backoff_max", "60"),
            ("max_gates", 0),
            ("max_queued", 0),
            ("batch_size", 0),
            ("max_scores", -1),
            ("max_stale", -5),
            ("max_gates", True),
        ]
        for cls in (Client, AsyncClient):
            for name, value in bad:
                with self.subTest(cls=cls.__name__, name=name, value=value), self.assertRaises(ValueError) as caught:
                    cls("http://127.0.0.1:9", "t", background=False, **{name: value})  # type: ignore[arg-type]
                self.assertIn(f"scoregate: {name} must be a number", str(caught.exception))
            # the defaults, None for each (a configuration file's null, as the TypeScript client reads null), and the
            # smallest values in range are taken
            nones = dict.fromkeys(("backoff_initial", "backoff_max", "max_stale", "max_gates", "max_queued", "batch_size", "max_scores", "flush_interval"))
            for options in ({"max_stale": None, "max_gates": 1, "max_scores": 0, "flush_interval": 0.001}, nones):
                c = cls("http://127.0.0.1:9", "t", background=False, **options)  # type: ignore[arg-type]
                closed = c.close()
                if inspect.isawaitable(closed):
                    asyncio.run(closed)

    def test_stream_options_are_checked_as_the_clients_own(self) -> None:
        # a string from an environment variable failed the stream thread on every try, logged as a listener's failure
        for stream, said in (
            ({"read_timeout": "45"}, "stream read_timeout"),
            ({"read_timeout": float("nan")}, "stream read_timeout"),
            ({"backoff_initial": 0}, "stream backoff_initial"),
            ({"max_gates": 0}, "stream max_gates"),
            ({"max_failures": True}, "stream max_failures"),
        ):
            for cls in (Client, AsyncClient):
                with self.subTest(cls=cls.__name__, stream=stream), self.assertRaises(ValueError) as caught:
                    cls("http://127.0.0.1:9", "t", background=False, stream=stream)
                self.assertIn(f"scoregate: {said} must be a number", str(caught.exception))
        c = Client("http://127.0.0.1:9", "t", background=False, stream={"read_timeout": None, "max_gates": 3})
        self.assertIsNotNone(c._stream_options)
        c.close()


class ReportMisuseTests(StubCase):
    def test_each_kind_of_malformed_report_is_ignored_counted_and_logged_once(self) -> None:
        c = self.client()
        bad = [
            ((3.0, 1), {"gate": GATE}, "must be integers"),
            ((True, 0), {"calibration_id": CAL}, "must be integers"),
            (("5", "1"), {"calibration_id": CAL}, "must be integers"),
            ((5, 1), {"calibration_id": CAL, "below": 2.0}, "must be integers"),
            ((5, 6), {"calibration_id": CAL}, "dropped must be between 0 and candidates"),
            ((5, -1), {"calibration_id": CAL}, "dropped must be between 0 and candidates"),
            ((5, 1), {"calibration_id": CAL, "below": 6}, "below must be between 0 and candidates"),
            ((5, 1), {}, "neither a calibration_id nor a valid gate"),
            ((5, 1), {"gate": {"embedding": "e5"}}, "neither a calibration_id nor a valid gate"),
            # a fallback result's calibration_id: counts made at the caller's fallback, not sent under the gate
            ((5, 1), {"gate": GATE, "calibration_id": None}, "calibration_id is None: the counts were made at a fallback threshold"),
        ]
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for _ in range(3):  # every call is counted, each kind is said once
                for args, kw, _said in bad:
                    c.report(*args, **kw)
        self.assertEqual(c.observation_stats().ignored, 3 * len(bad))
        kinds = sorted({said for _, _, said in bad})
        self.assertEqual(len(logs.records), len(kinds), logs.output)
        for said in kinds:
            self.assertEqual(sum(said in line for line in logs.output), 1, said)
        self.assertTrue(all(r.levelno == logging.WARNING for r in logs.records))
        # a report after close() is ignored, counted, and said once with the TypeScript client's reason, closed (a
        # close() that ran too early, such as a lifespan a test client ended, dropped every later query silently)
        c.close()
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for _ in range(3):
                c.report(5, 1, calibration_id=CAL)
                c.gate([{"score": 0.9}], GATE, fallback=0.5)
        self.assertEqual(c.observation_stats().ignored, 3 * len(bad) + 6)
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("report() ignored a query: closed: close() was called", logs.output[0])

    def test_a_report_after_close_is_said_once_by_the_async_client_too(self) -> None:
        async def main() -> None:
            c = AsyncClient(self.stub.url, "t", background=False)
            await c.close()
            with self.assertLogs("scoregate", logging.WARNING) as logs:
                for _ in range(3):
                    c.report(5, 1, calibration_id=CAL)
            self.assertEqual(c.observation_stats().ignored, 3)
            self.assertEqual(len(logs.records), 1, logs.output)
            self.assertIn("ignored a query: closed", logs.output[0])

        asyncio.run(main())

    def test_scores_that_are_not_a_list_of_numbers_ignore_the_report_whole(self) -> None:
        # they were queued, then raised: an unexpected failure with a traceback at ERROR, yet the query was sent,
        # and queued went below 0 (the memory bound then counted wrong for good)
        bad: List[Any] = [5, 0.5, "0.5 0.7", b"\x01", {"a": 0.5}, Failing()]
        for cls in (Client, AsyncClient):
            with self.subTest(cls=cls.__name__):
                self.stub.requests.clear()
                c = cls(self.stub.url, "t", background=False)
                with self.assertLogs("scoregate", logging.DEBUG) as logs:
                    for _ in range(2):
                        for scores in bad:
                            c.report(2, 1, calibration_id=CAL, scores=scores)
                stats = c.observation_stats()
                self.assertEqual((stats.queued, stats.ignored), (0, 2 * len(bad)))
                # said once per kind, at WARNING, without a traceback
                self.assertEqual(len(logs.records), len(bad), logs.output)
                self.assertTrue(all(r.levelno == logging.WARNING and r.exc_info is None for r in logs.records), logs.output)
                self.assertTrue(all("scores must be a list (or another iterable) of numbers, or None" in line for line in logs.output))
                self.assertIn("(got int)", logs.output[0])
                self.assertIn("reading them raised RuntimeError", logs.output[-1])
                # None is no scores; a list, a tuple or a generator of numbers is sampled (finite reals only)
                c.report(2, 1, calibration_id=CAL, scores=None)
                c.report(2, 1, calibration_id=CAL, scores=[0.9, "0.8", None, float("nan"), 0.1])
                c.report(2, 1, calibration_id=CAL, scores=(s for s in (0.7,)))
                flushed = c.flush()
                if inspect.isawaitable(flushed):
                    flushed = asyncio.run(flushed)
                self.assertEqual((flushed.sent_batches, flushed.stats.sent, flushed.stats.queued), (1, 3, 0))
                posts = [q["body"] for q in self.stub.requests if q["method"] == "POST"]
                self.assertEqual([(b["queries"], b["scores"]) for b in posts], [([[2, 1]] * 3, [0.9, 0.1, 0.7])])
                closed = c.close()
                if inspect.isawaitable(closed):
                    asyncio.run(closed)

    def test_a_malformed_promotion_claim_is_ignored_counted_and_logged_once_never_raised(self) -> None:
        c = self.client()
        claim = {"id": "prm_0000000001", "step": 0, "arm": "candidate"}
        result = c.gate([{"score": 0.9}], GATE, fallback=0.5, report=False)  # a GateResult: an easy slip for r.promotion
        bad: List[Any] = [
            result,
            "prm_0000000001",
            {},
            {"id": "prm_0000000001", "step": 0},
            {"id": 5, "step": "0", "arm": "bogus"},
            {**claim, "id": ""},
            {**claim, "step": -1},
            {**claim, "step": 1.0},
            {**claim, "step": True},
            {**claim, "arm": "Candidate"},
            {**claim, "arm": None},
        ]
        with self.assertLogs("scoregate", logging.DEBUG) as logs:
            for _ in range(3):
                for promotion in bad:
                    c.report(5, 1, calibration_id=CAL, promotion=promotion)
                c.report(5, 1, calibration_id=CAL, promotion=claim, role="shadow")  # a mirrored query has no arm
        self.assertEqual(c.observation_stats().ignored, 3 * (len(bad) + 1))
        self.assertEqual(c.observation_stats().queued, 0)
        # one line per kind: not a mapping (a GateResult, a str), a mapping without a valid claim, a shadow's claim
        self.assertEqual(len(logs.records), 4, logs.output)
        self.assertTrue(all(r.levelno == logging.WARNING and r.exc_info is None for r in logs.records), logs.output)
        self.assertTrue(all("promotion" in line and "Traceback" not in line for line in logs.output))
        self.assertIn("not a GateResult", logs.output[0])
        self.assertEqual(c.flush().sent_batches, 0)
        self.assertEqual(self.stub.requests[-1]["method"], "GET")  # nothing was sent

    def test_a_valid_promotion_claim_is_sent_as_id_step_and_arm(self) -> None:
        c = self.client()
        for arm in ("candidate", "control", "unassigned"):
            c.report(5, 1, calibration_id=CAL, promotion={"id": "prm_0000000001", "step": Count(2), "arm": arm, "note": "x"})
        self.assertEqual(c.observation_stats().ignored, 0)
        self.assertEqual(c.flush().sent_batches, 3)
        posts = [q["body"] for q in self.stub.requests if q["method"] == "POST"]
        self.assertEqual([b["promotion"] for b in posts], [{"id": "prm_0000000001", "step": 2, "arm": a} for a in ("candidate", "control", "unassigned")])

    def test_integral_counts_that_are_not_int_are_accepted_and_sent_as_ints(self) -> None:
        c = self.client()
        c.report(Count(5), Count(2), calibration_id=CAL, below=Count(1))  # type: ignore[arg-type]
        self.assertEqual(c.observation_stats().ignored, 0)
        self.assertEqual(c.flush().sent_batches, 1)
        posts = [q["body"] for q in self.stub.requests if q["method"] == "POST"]
        self.assertEqual([b["queries"] for b in posts], [[[5, 2, 1, 0]]])


class _no_logs:
    """assertNoLogs of the scoregate logger at WARNING, which Python 3.9 lacks (it arrived in 3.10)."""

    def __init__(self, case: unittest.TestCase) -> None:
        self.case = case
        self.records: List[logging.LogRecord] = []
        self.handler = logging.Handler()
        self.handler.emit = self.records.append  # type: ignore[method-assign]

    def __enter__(self) -> None:
        self.logger = logging.getLogger("scoregate")
        self.level = self.logger.level
        self.logger.setLevel(logging.WARNING)
        self.logger.addHandler(self.handler)

    def __exit__(self, *exc: Any) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)
        self.case.assertEqual(self.records, [])


#: What gate() and shadow() take as no candidates (the TypeScript client's non-arrays): None, text, bytes, a mapping
#: (a reranker's whole response), a number
NOT_CANDIDATES: List[Any] = [None, "abc", b"abc", bytearray(b"ab"), {"results": [{"score": 0.9}]}, types.MappingProxyType({"a": 1}), 5]


def _got(candidates: Any) -> str:
    return "None" if candidates is None else type(candidates).__name__


class GateInputTests(StubCase):
    def test_any_iterable_of_candidates_is_read_once(self) -> None:
        c = self.client()
        docs = [{"id": 1, "score": 0.9}, {"id": 2, "score": 0.1}]
        reads: List[int] = []

        def generate() -> Iterator[Any]:
            for d in docs:
                reads.append(d["id"])
                yield d

        for candidates in (generate(), iter(docs), (d for d in docs), {0: docs[0], 1: docs[1]}.values()):
            with self.subTest(candidates=type(candidates).__name__):
                r = c.gate(candidates, GATE, fallback=0.5)
                self.assertEqual(([d["id"] for d in r.kept], [d["id"] for d in r.dropped], r.calibration_id), ([1], [2], CAL))
        self.assertEqual(reads, [1, 2])  # the generator was read once
        c.flush()
        posts = [q["body"] for q in self.stub.requests if q["method"] == "POST"]
        self.assertEqual([b["queries"] for b in posts], [[[2, 1]] * 4])

    def check_no_candidates(self, r: Any, got: str) -> None:
        self.assertEqual((r.kept, r.dropped, r.unscored), ([], [], 0))
        self.assertEqual((r.reason, r.threshold, r.calibration_id, r.error.code), ("fallback", 0.5, None, "bad_request"))
        self.assertEqual(r.error.message, f"candidates must be a list or another iterable of candidates (got {got})")

    def test_candidates_that_are_not_a_list_are_none_as_in_the_typescript_client_never_raised(self) -> None:
        # None raised TypeError; a str, bytes or a dict (the reranker's whole response) was gated as its characters,
        # byte values or keys, each an unscored candidate kept and reported (a false unscored_candidates alert)
        c = self.client()
        c.get_threshold(GATE, 0.5)  # a calibration is held: bad candidates must still not be reported under it
        self.stub.requests.clear()

        with self.assertLogs("scoregate", logging.DEBUG) as logs:
            for _ in range(2):
                for bad in NOT_CANDIDATES:
                    with self.subTest(candidates=bad):
                        self.check_no_candidates(c.gate(bad, GATE, fallback=0.5), _got(bad))
                        self.assertEqual(c.shadow(bad, GATE, key="k"), [])
                r = c.gate(Failing(), GATE, fallback=0.5)
                self.assertEqual((r.kept, r.error.code), ([], "bad_request"))
                self.assertIn("RuntimeError", r.error.message)
        self.assertEqual(self.stub.requests, [])  # no threshold read, nothing reported
        stats = c.flush().stats
        self.assertEqual((stats.queued, stats.sent, stats.ignored), (0, 0, 0))
        self.assertEqual(self.stub.requests, [])
        # once per kind and call, at WARNING, no traceback
        self.assertEqual(len(logs.records), 2 * len(NOT_CANDIDATES) + 1, logs.output)
        self.assertTrue(all(r.levelno == logging.WARNING and r.exc_info is None for r in logs.records), logs.output)
        # a list, a tuple, a set and a generator are still candidates
        for ok_candidates in ([{"score": 0.9}], ({"score": 0.9},), (d for d in [{"score": 0.9}])):
            self.assertEqual(c.gate(ok_candidates, GATE, fallback=0.5).kept, [{"score": 0.9}])
        self.assertEqual(c.gate({0.9}, GATE, fallback=0.5, score=lambda x: x).kept, [0.9])

    def test_the_async_client_answers_candidates_that_are_not_a_list_the_same(self) -> None:
        async def main() -> None:
            async with AsyncClient(self.stub.url, "t", background=False) as c:
                await c.get_threshold(GATE, 0.5)
                self.stub.requests.clear()
                with self.assertLogs("scoregate", logging.WARNING) as logs:
                    for bad in NOT_CANDIDATES:
                        with self.subTest(candidates=bad):
                            self.check_no_candidates(await c.gate(bad, GATE, fallback=0.5), _got(bad))
                            self.assertEqual(await c.shadow(bad, GATE, key="k"), [])
                self.assertEqual(len(logs.records), 2 * len(NOT_CANDIDATES), logs.output)
                self.assertEqual((await c.flush()).stats.queued, 0)
                self.assertEqual(self.stub.requests, [])
                self.assertEqual(len((await c.gate(iter([{"score": 0.9}]), GATE, fallback=0.5)).kept), 1)

        asyncio.run(main())

    def test_shadow_reads_an_iterable_once_for_every_shadow(self) -> None:
        def shadow(cal: str) -> dict:
            return {
                "calibration_id": cal,
                "index_version": "v2",
                "threshold": 0.5,
                "expected_drop_rate": 0.3,
                "guards": {"min_keep": 0, "max_keep": None},
                "abstain_below": None,
                "sample_rate": 1.0,
                "since_seq": 4,
            }

        body = {**ok()[2], "rollout": None, "shadows": [shadow("cal_0000000000s1"), shadow("cal_0000000000s2")]}
        self.stub.handler = lambda m, p, h, b: (202, {}, {"accepted": True}) if m == "POST" else (200, ok()[1], body)
        c = self.client()
        reported = c.shadow((d for d in [{"score": 0.9}, {"score": 0.1}]), GATE, key="session-1")
        self.assertEqual(reported, ["cal_0000000000s1", "cal_0000000000s2"])
        c.flush()
        posts = [q["body"] for q in self.stub.requests if q["method"] == "POST"]
        self.assertEqual(sorted((b["calibration_id"], b["queries"]) for b in posts), [("cal_0000000000s1", [[2, 1]]), ("cal_0000000000s2", [[2, 1]])])

    def test_an_unknown_unscored_value_is_read_as_keep_and_logged_once(self) -> None:
        c = self.client()
        docs = [{"score": 0.9}, {"score": None}, {"score": 0.1}]
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for _ in range(3):
                r = c.gate(docs, GATE, fallback=0.5, unscored="dorp")  # type: ignore[arg-type]
                self.assertEqual((r.kept, r.reason, r.error), ([docs[0], docs[1]], "calibrated" if _ == 0 else "cached", None))
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("unscored='dorp'", logs.output[0])
        self.assertEqual(len(c.gate(docs, GATE, fallback=0.5, unscored="drop").kept), 1)  # the right word still drops
        with self.assertRaises(ValueError):
            scoregate.decide_query([0.5], 0.4, unscored="Drop")  # the pure rule still checks its arguments

    def test_the_async_client_reads_the_same(self) -> None:
        async def main() -> None:
            async with AsyncClient(self.stub.url, "t", background=False) as c:
                r = await c.gate((d for d in [{"score": 0.9}, {"score": 0.1}]), GATE, fallback=0.5)
                self.assertEqual((len(r.kept), len(r.dropped)), (1, 1))
                with self.assertLogs("scoregate", logging.WARNING):
                    r = await c.gate([{"score": 0.9}, {}], GATE, fallback=0.5, unscored="dorp")  # type: ignore[arg-type]
                self.assertEqual(len(r.kept), 2)

        asyncio.run(main())


#: Gates without embedding and reranker strings: None, a number, missing, not a gate at all
BAD_GATES: List[Any] = [
    {"embedding": None, "reranker": "bge", "index": "docs"},
    {"embedding": "e5", "reranker": 7},
    {"reranker": "bge"},
    Gate(None, "bge"),  # type: ignore[arg-type]
    ("e5",),
    ("e5", None),
    None,
    "e5/bge",
]


class BadGateTests(StubCase):
    """The TypeScript client's ``getThreshold`` answers a gate without embedding and reranker strings with the fallback
    and a ``bad_request`` error, sends nothing, and reports nothing; so do both Python clients, logging it once."""

    def check(self, r: Any, fallback: Any, threshold: Any) -> None:
        self.assertEqual((r.reason, r.threshold, r.calibration_id, r.error.code), ("fallback", threshold, None, "bad_request"))
        self.assertEqual(r.error.message, "the gate needs embedding and reranker strings")

    def test_a_bad_gate_answers_the_fallback_with_bad_request_and_sends_nothing(self) -> None:
        c = self.client()
        docs = [{"score": 0.9}, {"score": 0.1}]
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for g in BAD_GATES:
                with self.subTest(gate=g):
                    self.check(c.get_threshold(g, 0.5), 0.5, 0.5)
                    r = c.gate(docs, g, fallback=0.5)
                    self.check(r, 0.5, 0.5)
                    self.assertEqual((r.kept, r.dropped), ([docs[0]], [docs[1]]))  # the fallback applies
                    self.assertEqual(c.shadows_for(g, "k"), [])
                    self.assertEqual(c.shadow(docs, g, key="k"), [])
        self.assertEqual(self.stub.requests, [])
        self.assertEqual(c.flush().stats.queued, 0)  # nothing reported: no calibration decided
        self.assertEqual(self.stub.requests, [])
        # once, not once per call: a request handler makes the same mistake on every request
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertTrue(all("embedding and reranker strings" in line and "Traceback" not in line for line in logs.output))

    def test_missing_arguments_answer_as_the_typescript_client_answers_missing_options(self) -> None:
        c = self.client()
        docs = [{"score": 0.9}, {"score": 0.1}]
        self.check(c.get_threshold(), None, None)  # type: ignore[call-arg]
        self.check(c.gate(docs), None, None)  # type: ignore[call-arg]
        self.assertEqual(c.gate(docs).kept, docs)  # type: ignore[call-arg]  # no fallback: None keeps everything
        self.assertEqual(self.stub.requests, [])
        # a gate without a fallback is served as usual: the fallback, had it been needed, would have been None
        r = c.gate(docs, GATE)  # type: ignore[call-arg]
        self.assertEqual((r.reason, r.calibration_id, len(r.kept)), ("calibrated", CAL, 1))
        self.assertEqual(c.get_threshold(GATE).reason, "cached")  # type: ignore[call-arg]
        self.assertIn("<required>", str(inspect.signature(Client.get_threshold)))

    def test_a_served_that_is_not_a_threshold_result_is_refused_as_a_bad_gate_is(self) -> None:
        c = self.client()
        docs = [{"score": 0.9}, {"score": 0.1}]
        t = c.get_threshold(GATE, 0.5)
        not_served: List[Any] = ["cal_0000000000aa", {"threshold": 0.1, "calibration_id": CAL}, c.gate(docs, GATE, fallback=0.5, report=False), 0.3]
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for _ in range(2):
                for x in not_served:
                    with self.subTest(served=x):
                        r = c.gate(docs, GATE, fallback=0.5, served=x)
                        self.assertEqual((r.reason, r.threshold, r.calibration_id, r.error.code), ("fallback", 0.5, None, "bad_request"))
                        self.assertIn("ThresholdResult", r.error.message)
                        self.assertEqual((r.kept, r.dropped), ([docs[0]], [docs[1]]))  # the fallback applies
        self.assertEqual(len(logs.records), len(not_served), logs.output)  # once per kind
        self.assertTrue(all("served=" in line and "Traceback" not in line for line in logs.output))
        self.assertEqual(c.flush().stats.queued, 0)  # nothing reported
        self.assertEqual(c.gate(docs, GATE, fallback=0.5, served=None).reason, "cached")  # None: read as usual
        self.assertEqual(c.gate(docs, served=t).calibration_id, CAL)  # type: ignore[call-arg]  # the gate is not read again

    def test_a_refused_gate_is_not_reported_either(self) -> None:
        c = self.client()
        for g in BAD_GATES:
            c.report(3, 1, gate=g)
        self.assertEqual(c.observation_stats().ignored, len(BAD_GATES))
        self.assertEqual(c.flush().sent_batches, 0)

    def test_the_async_client_answers_the_same(self) -> None:
        async def main() -> None:
            async with AsyncClient(self.stub.url, "t", background=False) as c:
                docs = [{"score": 0.9}, {"score": 0.1}]
                with self.assertLogs("scoregate", logging.WARNING) as logs:
                    for g in BAD_GATES:
                        with self.subTest(gate=g):
                            self.check(await c.get_threshold(g, 0.5), 0.5, 0.5)
                            self.check(await c.gate(docs, g, fallback=0.5), 0.5, 0.5)
                            self.assertEqual(c.shadows_for(g, "k"), [])
                            self.assertEqual(await c.shadow(docs, g, key="k"), [])
                self.assertEqual(len(logs.records), 1, logs.output)
                self.check(await c.get_threshold(), None, None)  # type: ignore[call-arg]
                self.check(await c.gate(docs), None, None)  # type: ignore[call-arg]
                self.assertEqual(self.stub.requests, [])
                self.assertEqual((await c.gate(docs, GATE)).reason, "calibrated")  # type: ignore[call-arg]
                with self.assertLogs("scoregate", logging.WARNING) as logs:
                    r = await c.gate(docs, GATE, fallback=0.5, served="cal_0000000000aa")  # type: ignore[arg-type]
                self.assertEqual((r.reason, r.threshold, r.error.code), ("fallback", 0.5, "bad_request"))
                self.assertIn("served=", logs.output[0])

        asyncio.run(main())


class AsyncLoopTests(unittest.TestCase):
    """A client made at module level and used by one ``asyncio.run`` after another (pytest, Starlette's TestClient)."""

    def setUp(self) -> None:
        self.stub = StubServer()
        self.stub.handler = lambda *a: (202, {}, {"accepted": True})

    def tearDown(self) -> None:
        self.stub.close()

    def test_observations_keep_being_sent_from_each_new_loop(self) -> None:
        client = AsyncClient(self.stub.url, "t", flush_interval=0.05)
        failures: List[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: failures.append(record.getMessage())  # type: ignore[method-assign]
        asyncio_log = logging.getLogger("asyncio")
        asyncio_log.addHandler(handler)

        async def one_request(expected: int) -> None:
            client.report(5, 1, calibration_id=CAL)  # the flush task sends it, in this loop
            deadline = time.monotonic() + 3
            while client.observation_stats().sent < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.02)

        try:
            for run in range(1, 4):
                asyncio.run(one_request(run))
                self.assertEqual(client.observation_stats().sent, run, f"run {run}")
            client.report(5, 1, calibration_id=CAL)
            result = asyncio.run(client.close())  # closing from yet another loop flushes too
        finally:
            asyncio_log.removeHandler(handler)
        self.assertEqual((result.stats.sent, result.stats.queued), (4, 0))
        self.assertEqual(failures, [])



class GateSpellingTests(unittest.TestCase):
    """A gate dict written for the TypeScript client (``indexVersion``) pins the version as ``index_version`` does:
    read as nothing, it would serve the unpinned gate, another index's threshold during a rebuild."""

    def test_index_version_in_either_spelling_pins_the_version(self) -> None:
        from scoregate._types import Gate, as_gate

        both = {"embedding": "e5", "reranker": "bge", "index_version": None, "indexVersion": "v2"}  # a template's None
        for g in ({"embedding": "e5", "reranker": "bge", "index_version": "v2"}, {"embedding": "e5", "reranker": "bge", "indexVersion": "v2"}, both):
            with self.subTest(g=g):
                self.assertEqual(as_gate(g), Gate("e5", "bge", None, "v2"))
        self.assertEqual(as_gate({"embedding": "e5", "reranker": "bge"}).index_version, None)


if __name__ == "__main__":
    unittest.main()


class ScoreKeyTests(StubCase):
    """A score key no candidate has (a typo) or one holding strings: every such candidate is unscored, said once per
    key at WARNING, as the LangChain.js and LlamaIndex.TS adapters say it."""

    def test_a_misspelt_score_key_is_said_once_naming_the_keys_the_candidates_have(self) -> None:
        c = self.client()
        docs = [{"relevance_score": 0.9, "text": "a"}, {"relevance_score": 0.1, "text": "b"}]
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for _ in range(3):
                r = c.gate(docs, GATE, fallback=0.4, score="relevence_score")
                self.assertEqual((len(r.kept), r.unscored), (2, 2))
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn(
            "gate(): none of the 2 candidates has the score key 'relevence_score' (the first one's keys: relevance_score, text): "
            "every one is unscored and kept (unscored='keep'); check score=",
            logs.output[0],
        )
        # another key is said on its own; the right key says nothing
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            c.gate(docs, GATE, fallback=0.4, score="scores", unscored="drop")
        self.assertIn("has the score key 'scores'", logs.output[0])
        self.assertIn("every one is unscored and dropped (unscored='drop')", logs.output[0])
        with _no_logs(self):
            c.gate(docs, GATE, fallback=0.4, score="relevance_score")

    def test_strings_under_the_score_key_are_said_once(self) -> None:
        c = self.client()
        docs = [{"score": "0.9"}, {"score": 0.2}, {"score": "0.5"}]
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for _ in range(2):
                r = c.gate(docs, GATE, fallback=0.4)
                self.assertEqual(r.unscored, 2)
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("the score key 'score' holds a string ('0.9') on 2 of 3 candidates", logs.output[0])

    def test_attributes_count_and_a_none_score_is_no_typo(self) -> None:
        c = self.client()
        with _no_logs(self):
            # the key is there on one candidate, None on the other: unscored on purpose, nothing to say
            c.gate([{"score": None}, {"score": 0.5}], GATE, fallback=0.4)
            c.gate([types.SimpleNamespace(score=0.7)], GATE, fallback=0.4)
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            c.gate([types.SimpleNamespace(relevance=0.7, text="t")], GATE, fallback=0.4)
        self.assertIn("has the score key 'score' (the first one's keys: relevance, text)", logs.output[0])
