"""Every `# BOLT #14:` quote in these scripts is in docs/bolt14.md, word for word (whitespace
collapsed; `...` separates excerpts that must appear in this order), as lnprototest's
tools/check_quotes.py checks its scripts' `# BOLT #N:` quotes against the BOLTs. A script that
quotes a rule the spec no longer states fails here."""

import glob
import os
import re
from typing import List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "..", "docs", "bolt14.md")


def collapse(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def quotes() -> List[Tuple[str, int, str]]:
    """(file, line, quoted text) for each `# BOLT #14:` comment block of the test scripts."""
    out = []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        lines = open(path).read().splitlines()
        i = 0
        while i < len(lines):
            if lines[i].strip() == "# BOLT #14:":
                start, i, text = i + 1, i + 1, []
                while i < len(lines) and lines[i].strip().startswith("#"):
                    text.append(lines[i].strip()[1:])
                    i += 1
                out.append((os.path.basename(path), start, " ".join(text)))
            else:
                i += 1
    return out


def test_every_quote_is_in_the_spec() -> None:
    spec = collapse(open(SPEC).read())
    found = quotes()
    assert len(found) >= 15, "expected the scripts to quote the spec"
    for path, line, text in found:
        at = 0
        for part in (collapse(p) for p in text.split("...")):
            if not part:
                continue
            hit = spec.find(part, at)
            assert hit >= 0, "{}:{}: not in docs/bolt14.md (after offset {}): {!r}".format(
                path, line, at, part)
            at = hit + len(part)
