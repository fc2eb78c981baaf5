"""Every regular expression of the library against adversarial strings of 100,000 characters
(issue 20 item 3): no text makes a pattern take time growing faster than its length.

The audit (tests/regex_audit.py) runs in a subprocess with a time limit, so a pattern with
exponential backtracking fails the test instead of hanging it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import regex_audit

HERE = Path(__file__).resolve().parent


def test_every_pattern_of_the_library_is_linear_on_adversarial_strings() -> None:
    run = subprocess.run(
        [sys.executable, str(HERE / "regex_audit.py"), "--length", "100000"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert " 0 slow" in run.stdout


def test_the_audit_finds_the_patterns_and_catches_a_quadratic_one() -> None:
    patterns = {**regex_audit.compiled_patterns(), **regex_audit.literal_patterns()}
    assert len(patterns) >= 100
    sources = {p.pattern for p in patterns.values()}
    from alliance_monitor._safety import _ANY
    from alliance_monitor.scoring._redact import _EMAIL, _PHONE

    assert {_EMAIL.pattern, _PHONE.pattern, _ANY.pattern} <= sources
    # the e-mail pattern of the previous release: 20,000 characters of "a.a." took 25 s
    old_email = re.compile(r"(?:[^\W\u3000-\u9fff]|[.+-])+@(?:[^\W\u3000-\u9fff]|-)+")
    slow = regex_audit.audit(old_email, 100_000, 2.0)
    assert slow is not None and slow[0] in ("a.", ".a", "a", "aa", ".", "-", "+")
    assert (
        regex_audit.audit(re.compile(r"(?<![a-z.])[a-z.]{1,64}@[a-z]{1,63}"), 100_000, 2.0) is None
    )
