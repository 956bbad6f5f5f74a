"""pytest set-up for the BOLT #14 lnprototest scripts (the shape of lnprototest's own
tests/conftest.py: `--runner`, `--runner-args`, the `runner` fixture and `with_proposal`).

BOLT #14 is a proposal, not in pyln's BOLT namespaces, so every test takes the `with_bolt14`
fixture: `with_proposal` merged with the message CSV that `cargo xtask csv` extracts from
docs/bolt14.md (../bolt14.csv).
"""

import importlib
import os
from typing import Any, Callable, Generator, List

import lnprototest
import pyln.spec.bolt1
import pyln.spec.bolt2
import pyln.spec.bolt7
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BOLT14_CSV = os.path.join(HERE, "..", "bolt14.csv")


def bolt14_csv() -> List[str]:
    """The generated CSV without its '#' header lines."""
    with open(BOLT14_CSV) as f:
        return [l for l in f.read().splitlines() if l and not l.startswith("#")]


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--runner", action="store", help="runner to use",
                     default="foaf_runner.FoafNodeRunner")
    parser.addoption("--runner-args", action="append", default=[],
                     help="parameters for runner to use (foaf_runner: extra `foaf node` flags, "
                     "e.g. fault=v08-ignore-malformed)")


@pytest.fixture()  # type: ignore
def runner(pytestconfig: Any) -> Any:
    parts = pytestconfig.getoption("runner").rpartition(".")
    runner = importlib.import_module(parts[0]).__dict__[parts[2]](pytestconfig)
    yield runner
    runner.teardown()


@pytest.fixture()
def with_proposal(pytestconfig: Any) -> Generator[Callable[[List[str]], None], None, None]:
    """lnprototest's fixture: add a proposal's messages to the namespace (noop if merged)."""

    def _setter(proposal_csv: List[str]) -> None:
        if proposal_csv[0] not in (pyln.spec.bolt1.csv + pyln.spec.bolt2.csv + pyln.spec.bolt7.csv):
            lnprototest.assign_namespace(lnprototest.make_namespace(
                pyln.spec.bolt1.csv + pyln.spec.bolt2.csv + pyln.spec.bolt7.csv + proposal_csv))

    yield _setter
    lnprototest.assign_namespace(lnprototest.peer_message_namespace())


@pytest.fixture()
def with_bolt14(with_proposal: Callable[[List[str]], None]) -> None:
    """BOLT #14's messages in the namespace, from the CSV extracted from the spec text."""
    with_proposal(bolt14_csv())
