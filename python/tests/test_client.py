"""The client against a stub server: every failure mode, the cache, single flight, waiter deadlines, reports."""

from __future__ import annotations

import logging
import threading
import time
import unittest
from types import SimpleNamespace
from typing import Any

import scoregate
from scoregate import Client, Gate
from support import CACHE_CONTROL, Clock, StubServer, error, ok, threshold_body, wait_until

GATE = Gate("e5", "bge", index="docs")
# the client logs each failure once; the tests cause them on purpose
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


class StubTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = StubServer()
        self.clock = Clock()
        self.clients: list = []

    def tearDown(self) -> None:
        for c in self.clients:
            c.close()
        self.stub.close()

    def client(self, **kw) -> Client:
        kw.setdefault("clock", self.clock)
        kw.setdefault("rng", lambda: 0.0)
        kw.setdefault("background", False)
        c = Client(kw.pop("base_url", self.stub.url), kw.pop("token", "t"), **kw)
        self.clients.append(c)
        return c


class ThresholdTests(StubTestCase):
    def test_first_answer_is_calibrated_then_cached_without_requests(self) -> None:
        self.stub.handler = lambda *a: ok()
        c = self.client()
        first = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual((first.reason, first.threshold, first.calibration_id, first.index_version), ("calibrated", 0.42, "cal_0000000000aa", "v1"))
        second = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual(second.reason, "cached")
        self.assertEqual(len(self.stub.threshold_requests()), 1)
        q = self.stub.threshold_requests()[0]
        self.assertIn("index=docs", q["path"])
        self.assertEqual(q["headers"]["Authorization"], "Bearer t")

    def test_past_max_age_answers_stale_at_once_and_revalidates_with_the_etag_304(self) -> None:
        self.stub.handler = lambda *a: ok()
        c = self.client()
        c.get_threshold(GATE, fallback=0.5)
        self.stub.handler = lambda *a: (304, {"ETag": '"cal_0000000000aa"', "Cache-Control": CACHE_CONTROL}, None)
        self.clock.advance(6)
        stale = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual((stale.reason, stale.threshold), ("stale", 0.42))
        self.assertTrue(wait_until(lambda: len(self.stub.threshold_requests()) == 2 and c._cache.entries[GATE.key()].inflight is None))
        self.assertEqual(self.stub.threshold_requests()[1]["headers"].get("If-None-Match"), '"cal_0000000000aa"')
        again = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual((again.reason, again.threshold, again.fetched_at), ("cached", 0.42, self.clock.t))

    def test_server_down_gives_the_fallback_fast_and_backs_off(self) -> None:
        self.stub.close()
        c = self.client(base_url="http://127.0.0.1:9")  # discard port: nothing listens
        t0 = time.monotonic()
        r = c.get_threshold(GATE, fallback=0.5)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertEqual((r.reason, r.threshold, r.error.code), ("fallback", 0.5, "network"))
        # inside the backoff: an answer without a request (no error object is needed to be fast)
        r2 = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual(r2.reason, "fallback")
        self.stub = StubServer()  # for tearDown

    def test_a_slow_server_is_cut_off_at_the_timeout(self) -> None:
        self.stub.handler = lambda *a: ok()
        self.stub.delay = 1.5
        c = self.client(timeout=0.3)
        t0 = time.monotonic()
        r = c.get_threshold(GATE, fallback=0.5)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual((r.reason, r.threshold), ("fallback", 0.5))
        self.assertEqual(r.error.code, "timeout")

    def test_uncalibrated_404_gives_the_fallback_and_is_cached(self) -> None:
        self.stub.handler = lambda *a: error(404, "uncalibrated", {"Cache-Control": CACHE_CONTROL})
        c = self.client()
        r = c.get_threshold(GATE, fallback=None)
        self.assertEqual((r.reason, r.threshold, r.calibration_id), ("uncalibrated", None, None))
        self.assertEqual(c.get_threshold(GATE, fallback=None).reason, "uncalibrated")
        self.assertEqual(len(self.stub.threshold_requests()), 1)

    def test_uncalibrated_404_keeps_the_servers_message_on_the_answer_and_the_event(self) -> None:
        # a typo in the gate key: the server's "did you mean" reaches the caller, as in the TypeScript client
        message = "the gate doc / e5 / bge has no active calibration; did you mean index=docs? (see details.suggestions)"
        body = {"error": {"code": "uncalibrated", "message": message, "details": {"suggestions": [{"index": "docs"}]}}}
        self.stub.handler = lambda *a: (404, {"Cache-Control": CACHE_CONTROL}, body)
        c = self.client()
        seen: list = []
        c.subscribe(seen.append)
        typo = Gate("e5", "bge", index="doc")
        # the pointer into the envelope's details is for curl users: a ClientError does not carry them
        message = message.replace(" (see details.suggestions)", "")
        for r in (c.get_threshold(typo, fallback=0.1), c.get_threshold(typo, fallback=0.1)):
            self.assertEqual((r.reason, r.threshold), ("uncalibrated", 0.1))
            self.assertEqual((r.error.code, r.error.message, r.error.status), ("uncalibrated", f"404 uncalibrated: {message}", 404))
        g = c.gate([{"s": 0.05}], gate=typo, score=lambda d: d["s"], fallback=0.1)
        self.assertEqual((g.reason, g.error.code, len(g.dropped)), ("uncalibrated", "uncalibrated", 1))
        self.assertEqual([(e.type, e.error.message if e.error else None) for e in seen], [("uncalibrated", f"404 uncalibrated: {message}")])

    def test_401_stops_refreshing_and_surfaces_the_error(self) -> None:
        self.stub.handler = lambda *a: error(401, "unauthorized")
        c = self.client()
        r = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual((r.reason, r.error.code), ("fallback", "unauthorized"))
        self.assertEqual(c.auth_error.code, "unauthorized")
        self.clock.advance(3600)
        self.assertEqual(c.get_threshold(GATE, fallback=0.5).reason, "fallback")
        self.assertEqual(len(self.stub.threshold_requests()), 1)

    def test_429_retry_after_is_honoured(self) -> None:
        self.stub.handler = lambda *a: error(429, "conflict", {"Retry-After": "30"})
        c = self.client()
        self.assertEqual(c.get_threshold(GATE, fallback=0.5).error.code, "rate_limited")
        self.clock.advance(10)
        self.assertEqual(c.get_threshold(GATE, fallback=0.5).reason, "fallback")
        self.assertEqual(len(self.stub.threshold_requests()), 1)
        self.stub.handler = lambda *a: ok()
        self.clock.advance(21)
        self.assertEqual(c.get_threshold(GATE, fallback=0.5).reason, "calibrated")
        self.assertEqual(len(self.stub.threshold_requests()), 2)

    def test_500_serves_the_last_known_good_value_as_stale_then_recovers(self) -> None:
        self.stub.handler = lambda *a: ok()
        c = self.client()
        c.get_threshold(GATE, fallback=0.5)
        self.stub.handler = lambda *a: error(500, "internal")
        self.clock.advance(6)
        self.assertEqual(c.get_threshold(GATE, fallback=0.5).reason, "stale")
        self.assertTrue(wait_until(lambda: c._cache.entries[GATE.key()].last_error is not None))
        during = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual((during.reason, during.threshold, during.error.code), ("stale", 0.42, "server_error"))
        self.stub.handler = lambda *a: ok("cal_0000000000bb", 0.3)  # the server is back, with a new calibration
        self.clock.advance(2)  # past the 1 s backoff
        c.get_threshold(GATE, fallback=0.5)
        self.assertTrue(wait_until(lambda: c._cache.entries[GATE.key()].value["calibration_id"] == "cal_0000000000bb"))
        back = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual((back.reason, back.threshold, back.error), ("cached", 0.3, None))

    def test_past_stale_if_error_the_value_is_dropped(self) -> None:
        self.stub.handler = lambda *a: ok()
        c = self.client(max_stale=10)
        c.get_threshold(GATE, fallback=0.5)
        self.stub.handler = lambda *a: error(503, "misconfigured")
        self.clock.advance(16)
        self.assertEqual(c.get_threshold(GATE, fallback=0.5).reason, "fallback")

    def test_concurrent_callers_share_one_request(self) -> None:
        self.stub.handler = lambda *a: ok()
        self.stub.delay = 0.3
        c = self.client()
        results = []
        threads = [threading.Thread(target=lambda: results.append(c.get_threshold(GATE, fallback=0.5))) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(self.stub.threshold_requests()), 1)
        self.assertEqual({r.reason for r in results}, {"calibrated"})

    def test_a_waiter_with_a_short_deadline_does_not_wait_for_the_shared_request(self) -> None:
        self.stub.handler = lambda *a: ok()
        self.stub.delay = 0.8
        c = self.client(timeout=3)
        slow = []
        t = threading.Thread(target=lambda: slow.append(c.get_threshold(GATE, fallback=0.5)))
        t.start()
        time.sleep(0.05)
        t0 = time.monotonic()
        impatient = c.get_threshold(GATE, fallback=0.5, timeout=0.1)
        self.assertLess(time.monotonic() - t0, 0.5)
        self.assertEqual((impatient.reason, impatient.error.code), ("fallback", "timeout"))
        t.join()
        self.assertEqual(slow[0].reason, "calibrated")
        self.assertEqual(len(self.stub.threshold_requests()), 1)

    def test_never_raises_on_the_hot_path(self) -> None:
        def broken(*a, **k):
            raise RuntimeError("a broken transport")

        c = self.client(opener=broken)
        r = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual(r.reason, "fallback")
        self.assertEqual(r.error.code, "internal")
        r2 = c.get_threshold(("e5",), fallback=0.5)  # not a gate: still no exception (test_misuse has the rest)
        self.assertEqual((r2.reason, r2.error.code), ("fallback", "bad_request"))

    def test_a_snapshot_bootstraps_a_cold_start_without_waiting(self) -> None:
        self.stub.handler = lambda *a: ok()
        warm = self.client()
        warm.get_threshold(GATE, fallback=0.5)
        snap = warm.snapshot()
        self.stub.handler = lambda *a: ok()
        self.stub.delay = 1.0
        cold = self.client(bootstrap=snap)
        t0 = time.monotonic()
        r = cold.get_threshold(GATE, fallback=0.5)
        self.assertLess(time.monotonic() - t0, 0.5)
        self.assertEqual((r.reason, r.threshold), ("stale", 0.42))

    def test_an_unreadable_snapshot_or_entry_is_skipped_as_in_typescript(self) -> None:
        good = {"gate": {"index": "docs", "embedding": "e5", "reranker": "bge"}, "response": threshold_body(), "etag": '"cal_0000000000aa"', "fetched_at": 5.0}
        for snap in ({"version": 1, "entries": 5}, {"version": 1, "entries": {"a": good}}, {"version": True, "entries": [good]}, [good], None):
            with self.subTest(snap):
                c = self.client(bootstrap=snap)  # never raises: a cold start without its snapshot still serves
                self.assertEqual(c.snapshot()["entries"], [])
        odd = [
            {**good, "gate": {"embedding": 5, "reranker": "bge"}},  # embedding and reranker are strings
            {**good, "gate": ("e5", "bge", "docs")},  # a gate is saved as an object
            "not an entry",
            None,
        ]
        c = self.client(bootstrap={"version": 1, "entries": [*odd, {**good, "fetched_at": True}]})
        saved = c.snapshot()["entries"]
        self.assertEqual([(e["gate"], e["fetched_at"]) for e in saved], [({"index": "docs", "embedding": "e5", "reranker": "bge"}, 0.0)])

    def test_a_lower_seq_answered_to_the_held_etag_is_taken_and_a_snapshot_gives_way(self) -> None:
        def answer(cal: str, etag: str) -> Any:
            return lambda *a: (200, {"ETag": etag, "Cache-Control": CACHE_CONTROL}, threshold_body(cal, 0.6 if cal == "cal_b" else 0.3))

        self.stub.handler = answer("cal_b", '"cal_b.6"')
        c = self.client()
        self.assertEqual(c.get_threshold(GATE, fallback=0.5).calibration_id, "cal_b")
        snap = c.snapshot()
        # the revalidation sends If-None-Match "cal_b.6", and the server answers seq 5: the server read its record for a
        # client that proved it had seen seq 6 (a restored database), so the answer is taken, as in the TypeScript
        # client (a poll overtaken by a pushed event while it was out is the case that is dropped: test_stream)
        self.stub.handler = answer("cal_a", '"cal_a.5"')
        self.clock.advance(6)
        c.get_threshold(GATE, fallback=0.5)
        self.assertTrue(wait_until(lambda: len(self.stub.threshold_requests()) == 2 and c._cache.entries[GATE.key()].inflight is None))
        self.assertEqual(self.stub.threshold_requests()[-1]["headers"].get("If-None-Match"), '"cal_b.6"')
        r = c.get_threshold(GATE, fallback=0.5)
        self.assertEqual((r.calibration_id, r.threshold, r.reason), ("cal_a", 0.3, "cached"))
        # an ETag without a seq cannot be compared: it is taken
        self.stub.handler = answer("cal_a", '"cal_a"')
        self.assertTrue(wait_until(lambda: c.get_threshold(GATE, fallback=0.5).calibration_id == "cal_a"))
        # a snapshot's value is not the server's word to this client: the server's older answer replaces it
        self.stub.handler = answer("cal_a", '"cal_a.5"')
        cold = self.client(bootstrap=snap)
        self.assertEqual(cold.get_threshold(GATE, fallback=0.5).reason, "stale")
        self.assertTrue(wait_until(lambda: cold.get_threshold(GATE, fallback=0.5).calibration_id == "cal_a"))

    def test_thread_safety_under_concurrent_reads_and_reports(self) -> None:
        self.stub.handler = lambda m, p, h, b: (202, {}, {"accepted": len(b["queries"])}) if m == "POST" else ok()
        c = self.client()
        failures = []

        def work() -> None:
            try:
                for i in range(200):
                    self.clock.advance(0.1)
                    r = c.gate([{"score": 0.1}, {"score": 0.9}], GATE, fallback=0.5)
                    assert r.reason in ("calibrated", "cached", "stale"), r
            except Exception as e:  # pragma: no cover - reported below
                failures.append(e)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        c.flush()
        stats = c.observation_stats()
        self.assertEqual(stats.sent + stats.queued, 1600)


class ConstructorTests(unittest.TestCase):
    """Only the constructor raises, so a configuration error never looks like an outage."""

    def test_base_url_must_be_an_absolute_http_url_and_the_error_says_what_to_write(self) -> None:
        for base_url in ("localhost:8787", "scoregate.example.workers.dev", "//scoregate.test", "/v1", "ftp://scoregate.test", "http:scoregate.test", "https://", "http:///v1", "http:// x", "http://local host:8787", "http://localhost:8787/a b"):
            with self.subTest(base_url=base_url):
                with self.assertRaises(ValueError) as caught:
                    scoregate.Client(base_url, "t", background=False)
                self.assertEqual(str(caught.exception), f"scoregate: base_url {base_url!r} is not an HTTP URL such as 'http://localhost:8787'")
                with self.assertRaises(ValueError):
                    scoregate.AsyncClient(base_url, "t", background=False)
        for base_url in ("", "   ", None, 8787):
            with self.subTest(base_url=base_url), self.assertRaises(TypeError):
                scoregate.Client(base_url, "t", background=False)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            scoregate.Client("http://localhost:8787", "", background=False)

    def test_absolute_http_urls_are_accepted_and_requested_under(self) -> None:
        cases = {
            "http://localhost:8787": "http://localhost:8787/v1/threshold?",
            "HTTPS://scoregate.test/": "HTTPS://scoregate.test/v1/threshold?",
            "http://[::1]:8787": "http://[::1]:8787/v1/threshold?",
            "https://proxy.test/scoregate//": "https://proxy.test/scoregate/v1/threshold?",
            "http://localhost:8787 ": "http://localhost:8787/v1/threshold?",  # pasted with a space, or read from a file
            " https://scoregate.test/\n": "https://scoregate.test/v1/threshold?",
            "\ufeffhttps://scoregate.test": "https://scoregate.test/v1/threshold?",  # read from a file saved with a BOM
        }
        for base_url, prefix in cases.items():
            with self.subTest(base_url=base_url):
                urls: list = []

                def refuse(req: Any, timeout: float) -> Any:
                    urls.append(req.full_url)
                    raise OSError("connection refused")

                c = scoregate.Client(base_url, "t", opener=refuse, background=False)
                self.assertEqual(c.get_threshold(GATE, None).reason, "fallback")
                self.assertTrue(urls[0].startswith(prefix), urls[0])
                c.close()


class HttpTests(StubTestCase):
    def test_the_user_agent_and_the_servers_api_version(self) -> None:
        self.stub.handler = lambda *a: (200, {**ok()[1], "scoregate-api-version": "1"}, ok()[2])
        c = self.client()
        self.assertIsNone(c.server_api_version)
        c.get_threshold(GATE, fallback=0.5)
        self.assertEqual(self.stub.threshold_requests()[0]["headers"]["User-Agent"], f"scoregate-python/{scoregate.__version__}")
        self.assertEqual(c.server_api_version, "1")
        # an older server sends no version: nothing breaks, the last one seen is kept
        self.stub.handler = lambda *a: ok()
        self.clock.advance(6)
        c.get_threshold(GATE, fallback=0.5)
        self.assertTrue(wait_until(lambda: len(self.stub.threshold_requests()) == 2 and c._cache.entries[GATE.key()].inflight is None))
        self.assertEqual(c.server_api_version, "1")

    def test_a_redirect_to_another_origin_is_refused_and_the_token_stays_home(self) -> None:
        other = StubServer()
        try:
            other.handler = lambda *a: ok()
            self.stub.handler = lambda *a: (302, {"Location": f"{other.url}/v1/threshold"}, None)
            c = self.client()
            r = c.get_threshold(GATE, fallback=0.5)
            self.assertEqual((r.reason, r.error.code, r.error.status), ("fallback", "bad_request", 302))
            self.assertEqual(other.requests, [])
        finally:
            other.close()

    def test_a_redirect_within_the_origin_is_followed(self) -> None:
        self.stub.handler = lambda m, p, h, b: ok() if p.startswith("/moved") else (307, {"Location": f"/moved{p}"}, None)
        r = self.client().get_threshold(GATE, fallback=0.5)
        self.assertEqual((r.reason, r.threshold), ("calibrated", 0.42))

    def test_header_parsing_follows_the_rfcs(self) -> None:
        from scoregate import _http

        self.assertEqual(_http.parse_retry_after("30", 0), 30.0)
        self.assertIsNone(_http.parse_retry_after("1.5", 0))  # delay-seconds are digits only
        self.assertIsNone(_http.parse_retry_after("soon", 0))
        self.assertEqual(_http.parse_retry_after("Mon, 01 Jun 2026 00:00:12 GMT", 1780272000.0), 12.0)
        # a far-off value (a proxy's, a clock set wrong) is held to MAX_RETRY_AFTER_SECONDS, as in TypeScript
        self.assertEqual(_http.parse_retry_after("31536000", 0), _http.MAX_RETRY_AFTER_SECONDS)
        self.assertEqual(_http.parse_retry_after("Tue, 01 Jun 2027 00:00:12 GMT", 1780272000.0), 600.0)
        self.assertEqual(
            _http.parse_cache_control('private, MAX-AGE="7", stale-if-error=inf, stale-while-revalidate=-1, no-cache'),
            {"max-age": 7.0},
        )
        # a number as the TypeScript client reads it (decimals and exponents too); Python's own float() spellings
        # (digit separators, "nan", "infinity") are malformed, and so are an empty value and a second "="
        for header, seconds in (("max-age=1.5", 1.5), ("max-age=1e1", 10.0), ("max-age= 3 ", 3.0), ("max-age=.5", 0.5)):
            self.assertEqual(_http.parse_cache_control(header), {"max-age": seconds}, header)
        for header in ("max-age=1_0", "max-age=nan", "max-age=infinity", "max-age=", "max-age=5=3", "max-age=0x10", "max-age"):
            self.assertEqual(_http.parse_cache_control(header), {}, header)


class GateAndReportTests(StubTestCase):
    def test_gate_keeps_scores_at_or_above_the_threshold_and_reports_counts(self) -> None:
        self.stub.handler = lambda m, p, h, b: (202, {}, {"accepted": 1}) if m == "POST" else ok()
        c = self.client()
        docs = [{"id": 1, "score": 0.9}, {"id": 2, "score": 0.42}, {"id": 3, "score": 0.1}, {"id": 4}]
        r = c.gate(docs, GATE, fallback=0.5)
        self.assertEqual([d["id"] for d in r.kept], [1, 2, 4])
        self.assertEqual([d["id"] for d in r.dropped], [3])
        self.assertEqual((r.threshold, r.calibration_id, r.reason, r.unscored), (0.42, "cal_0000000000aa", "calibrated", 1))
        objs = [SimpleNamespace(relevance=0.5), SimpleNamespace(relevance=0.2)]
        r2 = c.gate(objs, GATE, fallback=0.5, score=lambda o: o.relevance)
        self.assertEqual(len(r2.kept), 1)
        res = c.flush()
        self.assertEqual(res.sent_batches, 1)
        post = [q for q in self.stub.requests if q["method"] == "POST"][0]
        self.assertEqual(post["path"], "/v1/observations")
        self.assertEqual(post["body"]["calibration_id"], "cal_0000000000aa")
        # the unscored doc is counted apart: [scored, dropped, below, abstained, unscored]
        self.assertEqual(post["body"]["queries"], [[3, 1, 1, 0, 1], [2, 1]])
        self.assertTrue(post["body"]["batch_id"].startswith("py-"))

    def test_fallback_answers_are_not_reported(self) -> None:
        self.stub.handler = lambda *a: error(404, "uncalibrated")
        c = self.client()
        r = c.gate([{"score": 0.1}], GATE, fallback=0.5)
        self.assertEqual((r.reason, len(r.dropped)), ("uncalibrated", 1))
        self.assertEqual(c.observation_stats().queued, 0)

    def test_a_failed_batch_is_retried_with_the_same_batch_id(self) -> None:
        c = self.client()
        c.report(20, 5, calibration_id="cal_0000000000aa")
        self.stub.handler = lambda *a: error(500, "internal")
        self.assertEqual(c.flush().failed_batches, 1)
        self.stub.handler = lambda *a: (202, {}, {"accepted": 1})
        self.assertEqual(c.flush().sent_batches, 1)
        ids = [q["body"]["batch_id"] for q in self.stub.requests]
        self.assertEqual(len(ids), 2)
        self.assertEqual(ids[0], ids[1])
        self.assertEqual(c.observation_stats().sent, 1)

    def test_memory_is_bounded_dropping_the_oldest_and_counting_them(self) -> None:
        c = self.client(max_queued=5)
        for i in range(8):
            c.report(10, i, calibration_id="cal_0000000000aa")
        s = c.observation_stats()
        self.assertEqual((s.queued, s.dropped_for_memory), (5, 3))
        self.stub.handler = lambda *a: (202, {}, {"accepted": 5})
        c.flush()
        self.assertEqual(self.stub.requests[0]["body"]["queries"], [[10, i] for i in range(3, 8)])

    def test_a_batch_trimmed_for_memory_keeps_its_score_sample(self) -> None:
        # the server takes a batch's scores as a sample of the gate's production scores (a reservoir over every batch),
        # never paired with its queries: the scores seen stay a true sample when the counts of old queries are dropped
        c = self.client(max_queued=2)
        for i in range(4):
            c.report(10, i, calibration_id="cal_0000000000aa", scores=[0.1 * (i + 1)])
        self.assertEqual(c.observation_stats().dropped_for_memory, 2)
        self.stub.handler = lambda *a: (202, {}, {"accepted": 2})
        c.flush()
        body = self.stub.requests[0]["body"]
        self.assertEqual(body["queries"], [[10, 2], [10, 3]])
        self.assertEqual([round(s, 9) for s in body["scores"]], [0.1, 0.2, 0.3, 0.4])

    def test_invalid_reports_and_reports_after_close_are_ignored(self) -> None:
        c = self.client()
        c.report(5, 6, calibration_id="cal_0000000000aa")
        c.report(5, 1)
        self.stub.handler = lambda *a: (202, {}, {"accepted": 0})
        c.close()
        c.report(5, 1, calibration_id="cal_0000000000aa")
        self.assertEqual(c.observation_stats().ignored, 3)

    def test_a_reports_unscored_count_is_the_fifth_count_and_checked(self) -> None:
        self.stub.handler = lambda *a: (202, {}, {"accepted": True})
        c = self.client()
        cal = "cal_0000000000aa"
        c.report(14, 4, calibration_id=cal, unscored=6)  # below defaults to dropped
        c.report(0, 0, calibration_id=cal, below=0, abstained=False, unscored=20)  # nothing scored
        c.report(5, 1, calibration_id=cal, unscored=0)  # nothing unscored: the pair
        with self.assertLogs("scoregate", "WARNING") as logs:
            c.report(5, 1, calibration_id=cal, unscored=-1)
            c.report(5, 1, calibration_id=cal, unscored=1.5)  # type: ignore[arg-type]
            c.report(9_995, 1, calibration_id=cal, unscored=6)
        self.assertIn("candidates and unscored together must be at most 10000", "\n".join(logs.output))
        self.assertEqual(c.observation_stats().ignored, 3)
        c.flush()
        post = [q for q in self.stub.requests if q["method"] == "POST"][0]
        self.assertEqual(post["body"]["queries"], [[14, 4, 4, 0, 6], [0, 0, 0, 0, 20], [5, 1]])

    def test_any_2xx_counts_as_sent(self) -> None:
        c = self.client()
        c.report(20, 5, calibration_id="cal_0000000000aa")
        self.stub.handler = lambda *a: (201, {}, None)
        self.assertEqual((c.flush().sent_batches, c.observation_stats().sent), (1, 1))

    def test_the_batch_being_sent_is_never_trimmed(self) -> None:
        self.stub.handler = lambda *a: (202, {}, {"accepted": True})
        self.stub.delay = 0.4
        c = self.client(max_queued=3, batch_size=3)
        for i in range(3):
            c.report(10, i, calibration_id="cal_0000000000aa")
        flushing = threading.Thread(target=c.flush)
        flushing.start()
        self.assertTrue(wait_until(lambda: len(self.stub.requests) == 1))
        for i in range(5):  # while the first batch is on the wire: only these count against max_queued
            c.report(10, 5, calibration_id="cal_0000000000aa")
        flushing.join()
        s = c.observation_stats()
        self.assertEqual((s.sent, s.queued, s.dropped_for_memory), (3, 3, 2))
        self.assertEqual(self.stub.requests[0]["body"]["queries"], [[10, 0], [10, 1], [10, 2]])

    def test_the_background_thread_sends_a_full_batch_at_once(self) -> None:
        self.stub.handler = lambda *a: (202, {}, {"accepted": True})
        c = self.client(background=True, flush_interval=30, batch_size=2, clock=time.time)
        c.report(20, 5, calibration_id="cal_0000000000aa")
        c.report(20, 6, calibration_id="cal_0000000000aa")
        self.assertTrue(wait_until(lambda: c.observation_stats().sent == 2))

    def test_the_background_thread_flushes(self) -> None:
        self.stub.handler = lambda *a: (202, {}, {"accepted": 1})
        c = self.client(background=True, flush_interval=0.05, clock=time.time)
        c.report(20, 5, calibration_id="cal_0000000000aa")
        self.assertTrue(wait_until(lambda: c.observation_stats().sent == 1))


if __name__ == "__main__":
    unittest.main()
