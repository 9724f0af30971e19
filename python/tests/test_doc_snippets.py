"""The Python snippets of docs/clients.md and python/README.md, as a reader copies them: each compiles, defines every
name it uses (a quick start that called an undefined ``log``, or used ``GATE`` from another snippet, failed with a
NameError on its first request), and each that needs no framework runs, in a process of its own, against a stub
server (``SCOREGATE_URL``, ``SCOREGATE_READ_TOKEN``): it reads the threshold, and what it reports reaches the server
when the client is closed (by the snippet itself, or at exit, when it says so). A snippet's ``search``, ``answer`` or
``mirror`` function is called once after it ran, as its service would call it."""

from __future__ import annotations

import builtins
import os
import re
import shutil
import subprocess
import sys
import symtable
import tempfile
import unittest
from pathlib import Path
from typing import List, Set, Tuple

from support import StubServer, ok

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "docs" / "clients.md", ROOT / "python" / "README.md"]
#: Modules a snippet may import and still be run here (the rest, FastAPI's, are compiled and checked only)
RUNNABLE_IMPORTS = {"scoregate", "os", "logging", "atexit", "asyncio", "contextlib", "json", "time"}
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: Runs a snippet as a service would: as a script, then calls its entry points once with a question and a session key
DRIVER = """
import inspect, runpy, sys
ns = runpy.run_path(sys.argv[1], run_name="__main__")
args = {"query": "what is scoregate?", "q": "what is scoregate?", "session_id": "session-7f3a"}
for name in ("search", "answer", "mirror"):
    f = ns.get(name)
    if callable(f):
        print(name, f(*[args[p] for p in inspect.signature(f).parameters]))
# a snippet that closes its client itself (at exit, or at once) is left to do so: what it reported must arrive
client = ns.get("client")
if client is not None and sys.argv[2] == "close":
    client.close()
"""


def snippets() -> List[Tuple[str, str]]:
    """(where, code) of every ```python block of the documents."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf8")
        for m in FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 2
            found.append((f"{doc.relative_to(ROOT)}:{line}", m.group(1)))
    return found


def undefined_names(code: str, where: str) -> Set[str]:
    """The global names the snippet reads that it neither defines (assignment, import, def, class) nor Python has."""
    top = symtable.symtable(code, where, "exec")
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    used: Set[str] = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    tables = list(top.get_children())
    while tables:
        t = tables.pop()
        tables.extend(t.get_children())
        used |= {s.get_name() for s in t.get_symbols() if s.is_referenced() and s.is_global()}
    return {name for name in used - defined if not hasattr(builtins, name)}


def imports_of(code: str) -> Set[str]:
    return {m.group(1).split(".")[0] for m in re.finditer(r"^\s*(?:from|import)\s+([\w.]+)", code, re.MULTILINE)}


class DocSnippetTests(unittest.TestCase):
    def test_there_are_snippets_to_check(self) -> None:
        where = [w for w, _ in snippets()]
        self.assertGreaterEqual(sum(w.startswith("docs/") for w in where), 2, where)
        self.assertGreaterEqual(sum(w.startswith("python/") for w in where), 2, where)

    def test_every_snippet_compiles_and_defines_what_it_uses(self) -> None:
        for where, code in snippets():
            with self.subTest(snippet=where):
                compile(code, where, "exec")
                self.assertEqual(undefined_names(code, where), set(), f"{where} uses names it does not define")

    def test_the_snippets_that_need_no_framework_run_against_a_stub(self) -> None:
        stub = StubServer()
        stub.handler = lambda m, p, h, b: (202, {}, {"accepted": True}) if m == "POST" else (404, {}, None) if p.startswith("/v1/events") else ok()
        self.addCleanup(stub.close)
        env = {**os.environ, "SCOREGATE_URL": stub.url, "SCOREGATE_READ_TOKEN": "dev-read"}
        tmp = tempfile.mkdtemp(prefix="scoregate-snippets-")
        self.addCleanup(shutil.rmtree, tmp, True)
        ran = 0
        for i, (where, code) in enumerate(snippets()):
            if not imports_of(code) <= RUNNABLE_IMPORTS:
                continue
            with self.subTest(snippet=where):
                ran += 1
                stub.requests.clear()
                path = Path(tmp) / f"snippet_{i}.py"
                path.write_text(code, encoding="utf8")
                close = "keep" if "client.close" in code else "close"
                command = [sys.executable, "-c", DRIVER, str(path), close]
                done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
                self.assertEqual((done.returncode, done.stderr), (0, ""), f"{where}\n{done.stdout}")
                if ".gate(" in code:
                    paths = [r["path"] for r in stub.requests]
                    self.assertTrue(any(p.startswith("/v1/threshold") for p in paths), paths)
                    self.assertIn("/v1/observations", paths)  # its counts were sent when the client closed
        self.assertGreaterEqual(ran, 5)


if __name__ == "__main__":
    unittest.main()
