"""Checks of ours for schemathesis' command line, loaded as its hooks (SCHEMATHESIS_HOOKS).

schemathesis' own checks compare each response with the OpenAPI document; this one adds the
promise of docs/failure-behaviour.md, "no response ever carries a stack trace": no error
body of a fuzzed request shows a trace or a path of the installation, unless the client
sent that text itself. A check registered here runs under ``--checks all`` with the built-in
ones.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from reliability_support import leaks


@schemathesis.check
def no_internals_in_error_bodies(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code < 400:
        return None
    sent = [case.formatted_path, repr(case.body), repr(case.query), repr(case.headers)]
    found = leaks(response.content, sent=sent)
    if found:
        raise AssertionError(f"the error body shows internals: {found}")
    return None
