"""Every request names its sender: ``scoregate-python/<version>``, after the products a service or an integration adds
with ``add_user_agent_product`` (the TypeScript client's ``addUserAgentProduct``), for both clients."""

from __future__ import annotations

import asyncio
import logging
import unittest

import scoregate
from scoregate import AsyncClient, Client, Gate
from support import StubServer, ok

GATE = Gate("e5", "bge", index="docs")
CAL = "cal_0000000000aa"
OURS = f"scoregate-python/{scoregate.__version__}"
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


class UserAgentTests(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = StubServer()
        self.stub.handler = lambda m, p, h, b: (202, {}, {"accepted": True}) if m == "POST" else ok()
        self.addCleanup(self.stub.close)

    def agents(self) -> list:
        return [(q["method"], q["headers"]["User-Agent"]) for q in self.stub.requests]

    def test_threshold_reads_and_observation_batches_send_the_package_product(self) -> None:
        c = Client(self.stub.url, "t", background=False)
        self.addCleanup(c.close)
        self.assertEqual(c.user_agent, OURS)
        c.get_threshold(GATE, 0.1)
        c.report(10, 3, calibration_id=CAL)
        c.flush()
        self.assertEqual(self.agents(), [("GET", OURS), ("POST", OURS)])

    def test_a_product_goes_in_front_once_and_anything_but_an_http_product_is_refused(self) -> None:
        c = Client(self.stub.url, "t", background=False)
        self.addCleanup(c.close)
        c.add_user_agent_product("scoregate-langchain/0.1.0")
        c.add_user_agent_product("my-rag/2.3")
        c.add_user_agent_product("scoregate-langchain/0.1.0")
        expected = f"my-rag/2.3 scoregate-langchain/0.1.0 {OURS}"
        for bad in ("", "two words/1", "name/1/2", "crlf\r\nx-injected: 1", "é/1", None, 3):
            with self.subTest(bad=bad), self.assertRaises(TypeError):
                c.add_user_agent_product(bad)  # type: ignore[arg-type]
        self.assertEqual(c.user_agent, expected)
        c.get_threshold(GATE, 0.1)
        c.report(10, 3, calibration_id=CAL)
        c.flush()
        self.assertEqual(self.agents(), [("GET", expected), ("POST", expected)])

    def test_the_async_client_sends_the_same(self) -> None:
        async def main() -> None:
            async with AsyncClient(self.stub.url, "t", background=False) as c:
                c.add_user_agent_product("my-rag/2.3")
                await c.get_threshold(GATE, 0.1)
                c.report(10, 3, calibration_id=CAL)
                await c.flush()

        asyncio.run(main())
        self.assertEqual(self.agents(), [("GET", f"my-rag/2.3 {OURS}"), ("POST", f"my-rag/2.3 {OURS}")])


if __name__ == "__main__":
    unittest.main()
