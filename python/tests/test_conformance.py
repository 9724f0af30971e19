"""The client conformance cases (fixtures/client-behaviour.json), run by both Python clients, Client and AsyncClient,
as packages/client/test/conformance.test.ts runs them for the TypeScript client. The transport is a scripted urllib
opener (urllib's own 304-as-HTTPError included), the clock is injected; the format is in fixtures/client-behaviour.md."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import logging
import re
import socket
import threading
import time
import unittest
import urllib.error
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from scoregate import AsyncClient, Client, Gate
from support import Clock, OpenerAnswer, wait_until

FIXTURE = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "client-behaviour.json").read_text(encoding="utf8"))
DEFAULTS = FIXTURE["defaults"]
EPOCH = DEFAULTS["epoch_ms"] / 1000
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


def to_gate(g: Dict[str, Any]) -> Gate:
    return Gate(embedding=g["embedding"], reranker=g["reranker"], index=g.get("index"), index_version=g.get("index_version"))


def threshold_body(calibration_id: str, threshold: Optional[float], answer: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The default body with this calibration, threshold and (when the answer gives them) guard fields."""
    guard_fields = {k: v for k, v in (answer or {}).items() if k in ("guards", "abstain_below")}
    return {**DEFAULTS["threshold_body"], "calibration_id": calibration_id, "threshold": threshold, **guard_fields}


def guards_view(g: Any) -> Dict[str, Any]:
    return {"min_keep": g.min_keep, "max_keep": g.max_keep}


def ms(seconds: float) -> int:
    return round(seconds * 1000)


class ScriptedServer:
    """A urllib opener that answers from the case's script (one answer per request per path, the last one repeating)
    and records every request."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.answers: Dict[str, List[Dict[str, Any]]] = {"threshold": [], "observations": []}
        self.recorded: List[Dict[str, Any]] = []
        self.unexpected: List[str] = []
        self.lock = threading.Lock()

    def script(self, server: Dict[str, Any]) -> None:
        for kind in ("threshold", "observations"):
            if kind in server:
                v = server[kind]
                self.answers[kind] = list(v) if isinstance(v, list) else [v]

    def open(self, req: urllib.request.Request, timeout: float) -> OpenerAnswer:
        url = urllib.parse.urlsplit(req.full_url)
        headers = {k.lower(): v for k, v in req.header_items()}
        body = json.loads(req.data) if req.data else None
        with self.lock:
            self.recorded.append({"method": req.get_method(), "path": url.path, "query": dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)), "headers": headers, "body": body})
            kind = {"/v1/threshold": "threshold", "/v1/observations": "observations"}.get(url.path)
            answers = self.answers.get(kind or "", [])
            answer = answers.pop(0) if len(answers) > 1 else (answers[0] if answers else None)
            if answer is None:
                self.unexpected.append(f"{req.get_method()} {url.path}")
                raise urllib.error.URLError(f"no answer scripted for {url.path}")
        if "delay_ms" in answer:
            time.sleep(answer["delay_ms"] / 1000)  # real time too, so that concurrent callers join this request
            self.clock.advance(answer["delay_ms"] / 1000)
        if answer.get("fail") == "network":
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        if answer.get("fail") == "timeout":
            self.clock.advance(timeout)  # the request gave up after its timeout
            raise urllib.error.URLError(socket.timeout("timed out"))
        return self._respond(answer, headers, req.full_url)

    def _respond(self, answer: Dict[str, Any], request_headers: Dict[str, str], url: str) -> OpenerAnswer:
        status = answer.get("status", 200)
        out = http.client.HTTPMessage()
        data = b""
        if "text" in answer:
            data = answer["text"].encode()
        elif "json" in answer:
            data = json.dumps(answer["json"]).encode()
        elif "error" in answer:
            data = json.dumps({"error": {"code": answer["error"], "message": f"{answer['error']} (conformance)"}}).encode()
        elif status == 200 and "calibration_id" in answer:
            data = json.dumps(threshold_body(answer["calibration_id"], answer.get("threshold"), answer)).encode()
            out["ETag"] = f'"{answer["calibration_id"]}"'
            out["Cache-Control"] = DEFAULTS["cache_control"]
        elif status == 304:
            out["ETag"] = request_headers.get("if-none-match", "")
            out["Cache-Control"] = DEFAULTS["cache_control"]
        for name, value in (answer.get("headers") or {}).items():
            del out[name]
            if value is not None:
                out[name] = value
        if status >= 300:  # what urllib does for every status from 300 on, a 304 included
            raise urllib.error.HTTPError(url, status, "scripted", out, io.BytesIO(data))
        return OpenerAnswer(status, out, data)


def client_options(settings: Dict[str, Any], server: ScriptedServer, clock: Clock) -> Dict[str, Any]:
    random_value = settings.get("random", 0.5)
    options: Dict[str, Any] = {
        "opener": server.open,
        "clock": clock,
        "rng": lambda: random_value,
        "background": False,
        "timeout": settings["timeout_ms"] / 1000,
        "backoff_initial": settings["backoff_initial_ms"] / 1000,
        "backoff_max": settings["backoff_max_ms"] / 1000,
    }
    if "max_stale_ms" in settings:
        options["max_stale"] = settings["max_stale_ms"] / 1000
    for name in ("batch_size", "max_queued", "max_scores"):
        if name in settings:
            options[name] = settings[name]
    if "bootstrap" in settings:
        options["bootstrap"] = {
            "version": 1,
            "saved_at": EPOCH,
            "entries": [
                {
                    "gate": e.get("gate", DEFAULTS["gate"]),
                    "response": threshold_body(e["calibration_id"], e["threshold"]),
                    "etag": e["etag"],
                    "fetched_at": EPOCH + e["fetched_at"] / 1000,
                }
                for e in settings["bootstrap"]
            ],
        }
    return options


def threshold_view(r: Any) -> Dict[str, Any]:
    return {
        "reason": r.reason,
        "threshold": r.threshold,
        "guards": guards_view(r.guards),
        "abstain_below": r.abstain_below,
        "calibration_id": r.calibration_id,
        "index_version": r.index_version,
        "expected_drop_rate": r.expected_drop_rate,
        "fetched_at": None if r.fetched_at is None else ms(r.fetched_at - EPOCH),
        "error": r.error.code if r.error else None,
        "error_status": r.error.status if r.error else None,
        "retry_after_ms": ms(r.error.retry_after) if r.error and r.error.retry_after is not None else None,
    }


def request_view(r: Dict[str, Any], expected: Dict[str, Any], posts: List[Dict[str, Any]]) -> Dict[str, Any]:
    view: Dict[str, Any] = {"method": r["method"], "path": r["path"]}
    if "query" in expected:
        view["query"] = r["query"]
    if "authorization" in expected:
        view["authorization"] = r["headers"].get("authorization")
    if "if_none_match" in expected:
        view["if_none_match"] = r["headers"].get("if-none-match")
    if "body" in expected:
        view["body"] = {k: v for k, v in (r["body"] or {}).items() if k != "batch_id"}
    if "batch_id" in expected:
        index = next(i for i, p in enumerate(posts) if p is r)
        earlier = [i for i, p in enumerate(posts[:index]) if p["body"]["batch_id"] == r["body"]["batch_id"]]
        view["batch_id"] = {"same_as": earlier[0]} if earlier else "new"
    return view


#: what `pick` shows for a key the client's view lacks: never equal to an expected value, `null` included, so a
#: fixture key the view does not have (a typo, a field the client dropped) fails instead of passing as null
ABSENT = "<absent from the client's view>"


def pick(view: Dict[str, Any], expected: Dict[str, Any]) -> Dict[str, Any]:
    return {k: view[k] if k in view else ABSENT for k in expected}


class Runner:
    """Runs one case against one client kind; subclasses say how a call is made and how background work is awaited."""

    def __init__(self, test: unittest.TestCase, case: Dict[str, Any]):
        self.test = test
        self.case = case
        self.clock = Clock(EPOCH)
        self.server = ScriptedServer(self.clock)
        self.settings = {**DEFAULTS["client"], **case.get("client", {})}
        self.checked = 0
        #: every announced change, as the language-neutral view `events` compares (fixtures/client-behaviour.md)
        self.events: List[Dict[str, Any]] = []
        self.told = 0

    def listen(self, client: Any) -> None:
        def on_event(e: Any) -> None:
            view: Dict[str, Any] = {"type": e.type}
            if e.type == "calibration":
                view.update({"calibration_id": e.calibration_id, "previous_calibration_id": e.previous_calibration_id})
            if e.type in ("error", "uncalibrated") and e.error is not None:
                view["error"] = e.error.code
            self.events.append(view)

        client.subscribe(on_event)

    def make_client(self) -> Union[Client, AsyncClient]:
        raise NotImplementedError

    def check(self, label: str, step: Dict[str, Any], client: Any, result: Any) -> None:
        t = self.test
        expected = step.get("expect")
        if "get" in step:
            for r in result:
                t.assertEqual(pick(threshold_view(r), expected or {}), expected or {}, label)
        elif "gate" in step:
            view = {
                "kept": [c["index"] for c in result.kept],
                "dropped": [c["index"] for c in result.dropped],
                "unscored": result.unscored,
                "abstain": result.abstain,
                "top_score": result.top_score,
                "guards": guards_view(result.guards),
                "abstain_below": result.abstain_below,
                "reason": result.reason,
                "threshold": result.threshold,
                "calibration_id": result.calibration_id,
                "error": result.error.code if result.error else None,
            }
            t.assertEqual(pick(view, expected or {}), expected or {}, label)
        elif "flush" in step or "close" in step:
            view = {"sent_batches": result.sent_batches, "failed_batches": result.failed_batches}
            t.assertEqual(pick(view, expected or {}), expected or {}, label)
        t.assertEqual(self.server.unexpected, [], f"{label}: requests nothing was scripted for")
        # the requests of a step: those sent since the last get, gate, flush or close (see the TypeScript runner)
        sent = self.server.recorded[self.checked :]
        if "report" not in step and "server" not in step:
            self.checked = len(self.server.recorded)
        told = self.events[self.told :]
        if "report" not in step and "server" not in step:
            self.told = len(self.events)
        if "events" in step:
            t.assertEqual(told, step["events"], f"{label}: events")
        if "requests" in step:
            posts = [r for r in self.server.recorded if r["method"] == "POST"]
            wanted = step["requests"]
            views = [request_view(r, wanted[j] if j < len(wanted) else {}, posts) for j, r in enumerate(sent)]
            t.assertEqual(views, wanted, f"{label}: requests")
        if "stats" in step:
            s = client.observation_stats()
            view = {
                "queued": s.queued,
                "sent": s.sent,
                "rejected": s.rejected,
                "ignored": s.ignored,
                "dropped_for_memory": s.dropped_for_memory,
                "last_error": s.last_error.code if s.last_error else None,
            }
            t.assertEqual(pick(view, step["stats"]), step["stats"], f"{label}: stats")
        if "auth_error" in step:
            t.assertEqual(client.auth_error.code if client.auth_error else None, step["auth_error"], f"{label}: auth_error")

    def advance(self, label: str, step: Dict[str, Any]) -> None:
        if "at" in step:
            target = EPOCH + step["at"] / 1000
            if target < self.clock.t:
                raise AssertionError(f"{label}: at {step['at']} is in the past (now {ms(self.clock.t - EPOCH)})")
            self.clock.t = target

    def label(self, i: int) -> str:
        return f"{self.case['name']}, step {i + 1}"


def report_args(o: Dict[str, Any]) -> Dict[str, Any]:
    # a vector without calibration_id leaves it out (None would say "a fallback's counts", which are not reported)
    return {
        **({"calibration_id": o["calibration_id"]} if "calibration_id" in o else {}),
        "gate": to_gate(o["gate"]) if "gate" in o else None,
        "scores": o.get("scores"),
        "below": o.get("below"),
        "abstained": o.get("abstained"),
        "unscored": o.get("unscored"),
    }


def gate_args(g: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "fallback": g["fallback"],
        "score": "score",
        "unscored": g.get("unscored", "keep"),
        "report_scores": g.get("report_scores", False),
        "report": g.get("report", True),
    }


def candidates_of(g: Dict[str, Any]) -> Optional[List[Dict[str, Any]]]:
    # null scores: candidates that are not a list, as a reranker wrapper's None on its own failure
    if g["scores"] is None:
        return None
    return [{"index": i, "score": s} for i, s in enumerate(g["scores"])]


class SyncRunner(Runner):
    def run(self) -> None:
        client = Client(DEFAULTS["base_url"], DEFAULTS["token"], **client_options(self.settings, self.server, self.clock))
        self.listen(client)
        for i, step in enumerate(self.case["steps"]):
            label = self.label(i)
            self.advance(label, step)
            result: Any = None
            if "server" in step:
                self.server.script(step["server"])
            elif "get" in step:
                get = step["get"]
                gate = to_gate(get.get("gate", DEFAULTS["gate"]))
                timeout = get["timeout_ms"] / 1000 if "timeout_ms" in get else None
                result = self._concurrently(get.get("concurrent", 1), lambda: client.get_threshold(gate, get["fallback"], timeout=timeout))
            elif "gate" in step:
                result = client.gate(candidates_of(step["gate"]), to_gate(DEFAULTS["gate"]), **gate_args(step["gate"]))
            elif "report" in step:
                o = step["report"]
                client.report(o["candidates"], o["dropped"], **report_args(o))
            elif "flush" in step:
                result = client.flush()
            elif "close" in step:
                result = client.close()
            # background revalidations run in threads: wait for them (the scripted server answers at once)
            self.test.assertTrue(wait_until(lambda: all(e.inflight is None for e in client._cache.entries.values()), 10.0), f"{label}: settles")
            self.check(label, step, client, result)

    @staticmethod
    def _concurrently(n: int, call: Callable[[], Any]) -> List[Any]:
        results: List[Any] = [None] * n
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, call())) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results


class AsyncRunner(Runner):
    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        client = AsyncClient(DEFAULTS["base_url"], DEFAULTS["token"], **client_options(self.settings, self.server, self.clock))
        self.listen(client)
        try:
            for i, step in enumerate(self.case["steps"]):
                label = self.label(i)
                self.advance(label, step)
                result: Any = None
                if "server" in step:
                    self.server.script(step["server"])
                elif "get" in step:
                    get = step["get"]
                    gate = to_gate(get.get("gate", DEFAULTS["gate"]))
                    timeout = get["timeout_ms"] / 1000 if "timeout_ms" in get else None
                    result = await asyncio.gather(*(client.get_threshold(gate, get["fallback"], timeout=timeout) for _ in range(get.get("concurrent", 1))))
                elif "gate" in step:
                    result = await client.gate(candidates_of(step["gate"]), to_gate(DEFAULTS["gate"]), **gate_args(step["gate"]))
                elif "report" in step:
                    o = step["report"]
                    client.report(o["candidates"], o["dropped"], **report_args(o))
                elif "flush" in step:
                    result = await client.flush()
                elif "close" in step:
                    result = await client.close()
                while client._tasks:  # background revalidations run as tasks: await them
                    await asyncio.gather(*list(client._tasks))
                self.check(label, step, client, result)
        finally:
            await client.close()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:80]


class SyncClientConformance(unittest.TestCase):
    """Client (threads)."""


class AsyncClientConformance(unittest.TestCase):
    """AsyncClient (asyncio)."""


def _add(cls: type, runner: type, index: int, case: Dict[str, Any]) -> None:
    def test(self: unittest.TestCase) -> None:
        runner(self, case).run()

    test.__doc__ = case["name"]
    setattr(cls, f"test_{index:02d}_{_slug(case['name'])}", test)


for _i, _case in enumerate(FIXTURE["cases"]):
    _add(SyncClientConformance, SyncRunner, _i, _case)
    _add(AsyncClientConformance, AsyncRunner, _i, _case)


class FixtureTests(unittest.TestCase):
    def test_the_fixture_has_cases(self) -> None:
        self.assertEqual(FIXTURE["version"], 1)
        self.assertGreater(len(FIXTURE["cases"]), 20)


if __name__ == "__main__":
    unittest.main()
