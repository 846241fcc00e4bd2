"""Hypothesis settings for the test suite, loaded by pytest as a plugin (`-p hypothesis_profile` in pyproject).

Under CI (the environment variable CI set to anything but ""/0/false/no; `.ci/run` exports CI=true) the
profile `kratom-qa-ci` is loaded: derandomize=True, so every property test draws the same examples on
every run (the seed is fixed per test, derived from the test's name), no example database, and a failing
example is printed with its `@reproduce_failure` blob. Elsewhere the profile `kratom-qa-dev` keeps
Hypothesis' random exploration (and its local example database), and also prints the blob on failure.
`HYPOTHESIS_PROFILE=<name>` chooses a profile explicitly. The choice is printed in pytest's header.

(Kept out of tests/conftest.py on purpose: a plugin module loaded from pyproject's addopts applies to
every pytest run of the project, whichever test files are selected.)
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_PROFILE = "kratom-qa-ci"
DEV_PROFILE = "kratom-qa-dev"

# Parent: Hypothesis' plain defaults (not whatever profile Hypothesis auto-loaded when it saw a CI variable).
_BASE = settings.get_profile("default")
settings.register_profile(CI_PROFILE, parent=_BASE, derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(DEV_PROFILE, parent=_BASE, derandomize=False, deadline=None, print_blob=True)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chosen_profile() -> str:
    return os.environ.get("HYPOTHESIS_PROFILE") or (CI_PROFILE if in_ci() else DEV_PROFILE)


settings.load_profile(chosen_profile())


def pytest_report_header(config) -> str:
    current = settings.default
    seed = ("fixed (derandomize=True: derived from each test's name)" if current.derandomize
            else "random per run (a failure prints its @reproduce_failure blob)")
    return f"hypothesis profile: {chosen_profile()}; seed: {seed}; max_examples={current.max_examples}"


def pytest_terminal_summary(terminalreporter) -> None:
    """Repeat the profile at the end, where `-q` runs (make test, CI) show it too."""
    terminalreporter.write_line(pytest_report_header(terminalreporter.config))
