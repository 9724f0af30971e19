"""The suite runs against the installed package (python/run-tests.mjs installs ./python into a fresh venv and sets
SCOREGATE_INSTALLED_IN), and what pip installed carries the metadata pyproject.toml declares."""

from __future__ import annotations

import os
import unittest
from importlib import metadata
from pathlib import Path

import scoregate

VENV = os.environ.get("SCOREGATE_INSTALLED_IN")


@unittest.skipUnless(VENV, "only meaningful in a venv made by `npm run test:python` (python/run-tests.mjs sets SCOREGATE_INSTALLED_IN)")
class InstalledTests(unittest.TestCase):
    def test_the_package_comes_from_the_venv_not_the_repository(self) -> None:
        here = Path(scoregate.__file__).resolve()
        self.assertTrue(str(here).startswith(str(Path(VENV).resolve())), here)
        self.assertIn("site-packages", here.parts)
        self.assertTrue((here.parent / "py.typed").is_file())

    def test_the_distribution_metadata(self) -> None:
        meta = metadata.metadata("scoregate")
        self.assertEqual(meta["Version"], scoregate.__version__)
        self.assertEqual(meta["Requires-Python"], ">=3.9")
        self.assertEqual(meta["License-Expression"], "Apache-2.0")
        self.assertIn("Typing :: Typed", meta.get_all("Classifier"))
        self.assertIsNone(meta.get_all("Requires-Dist"))  # standard library only

    def test_the_user_agent_names_the_version(self) -> None:
        from scoregate import _http

        self.assertEqual(_http.USER_AGENT, f"scoregate-python/{scoregate.__version__}")
