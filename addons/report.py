"""`cors.report` and `cors.har`: this session's capture, analyzed or turned into a HAR.

Both go through a temporary capture file holding exactly this session's lines, so what
they say is what `corscope analyze` would say about the same capture.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from typing import Any

from .session import Session, meta_line

logger = logging.getLogger("corscope")

MISSING_MODULE = (
    "corscope: {what} needs {module}, which this mitmproxy's Python cannot import. "
    "Run mitmproxy from the project's venv (.venv/bin/mitmdump -s addons/cors.py), or "
    "install corscope into mitmproxy's Python (pip install corscope); the capture itself "
    "is complete either way: `corscope analyze {capture}` reads it."
)


class ReportError(Exception):
    """A message for the user, already worded."""


def write_report(session: Session, path: str) -> dict[str, Any]:
    """Write the `corscope/1` JSON document of the session to `path`; return its summary."""
    try:
        from analysis.api import analyze_files, document
        from analysis.readers.errors import InputError
    except ImportError as e:
        raise ReportError(_missing("cors.report", e, session)) from None

    def build(capture: str) -> dict[str, Any]:
        try:
            analysis = analyze_files([capture])
        except InputError as e:
            raise ReportError(f"corscope: the session's capture did not read back: {e}") from None
        analysis.inputs = session.describe()
        return document(analysis)

    doc = _with_session_capture(session, build)
    _write_json(path, doc)
    return doc["summary"]


def write_har(session: Session, path: str) -> int:
    """Write the session as a standard HAR 1.2 file; return the number of entries."""
    try:
        from analysis.readers.capture import capture_to_har
        from analysis.readers.errors import InputError
    except ImportError as e:
        raise ReportError(_missing("cors.har", e, session)) from None

    def build(capture: str) -> dict[str, Any]:
        try:
            return capture_to_har(capture)
        except InputError as e:
            raise ReportError(f"corscope: the session's capture did not read back: {e}") from None

    har = _with_session_capture(session, build)
    _write_json(path, har)
    return len(har["log"]["entries"])


def _with_session_capture(session: Session, build: Callable[[str], Any]) -> Any:
    fd, tmp = tempfile.mkstemp(prefix="corscope-session-", suffix=".jsonl")
    os.close(fd)
    try:
        try:
            session.dump(tmp, meta_line())
        except OSError as e:
            # The capture was moved or deleted under the running proxy.
            raise ReportError(
                f"corscope: cannot read this session's capture back: {e.strerror or e}"
            ) from None
        return build(tmp)
    finally:
        os.unlink(tmp)


def _write_json(path: str, doc: dict[str, Any]) -> None:
    """Write next to the target and rename, so a reader never sees half a file."""
    target = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".corscope-", dir=folder)
    except OSError as e:
        raise ReportError(f"corscope: cannot write {path}: {e.strerror or e}") from None
    try:
        # Lone surrogates (undecodable header bytes, a page's "\ud800") are all UTF-8
        # cannot encode: written as JSON escapes, they read back the same.
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, target)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise ReportError(f"corscope: cannot write {path}: {e.strerror or e}") from None
        raise


def _missing(what: str, error: ImportError, session: Session) -> str:
    module = error.name or str(error)
    capture = session.capture_path or "corscope-capture.jsonl"
    return MISSING_MODULE.format(what=what, module=module, capture=capture)
