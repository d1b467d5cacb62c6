"""The `_cors` extension object: corscope's own hints on a HAR entry, capture line or flow.

Shape (every key optional, every value may be null):

    {"initiatorOrigin": str, "pageUrl": str, "mode": str, "credentials": str,
     "redirect": str, "source": str, "resourceType": str, "headerNames": [str],
     "integrity": bool, "fromWorker": bool,
     "browser": {"blocked": bool, "reason": str|null, "failed_parameter": str|null}}

Unknown keys are ignored so that a newer addon's captures still read. Known keys with the
wrong type or an unknown enumerated value are an InputError: the engine would otherwise
reason from a value nobody meant.
"""

from __future__ import annotations

from collections.abc import Mapping

from analysis.fetch import is_token
from analysis.model import CREDENTIALS, MODES, SOURCES, BrowserVerdict

from .captured import Hints
from .errors import InputError

REDIRECT_MODES: frozenset[str] = frozenset({"follow", "error", "manual"})

# _cors key -> (hint key, allowed values or None for any string)
_STRING_FIELDS: dict[str, tuple[str, frozenset[str] | None]] = {
    "initiatorOrigin": ("initiator_origin", None),
    "pageUrl": ("page_url", None),
    "mode": ("mode", MODES),
    "credentials": ("credentials", CREDENTIALS),
    "redirect": ("redirect_mode", REDIRECT_MODES),
    "source": ("source", SOURCES),
    "resourceType": ("resource_type", None),
}

# Sec-Fetch-Dest -> Chrome's resource type names, so both sources speak one vocabulary.
_DEST_TO_RESOURCE_TYPE: dict[str, str] = {
    "empty": "fetch",
    "script": "script",
    "style": "stylesheet",
    "image": "image",
    "font": "font",
    "document": "document",
    "iframe": "document",
    "frame": "document",
    "audio": "audio",  # Chrome's HAR says "media" for both; Blink's wording tells them apart
    "video": "video",
    "track": "texttrack",
    "manifest": "manifest",
    "worker": "script",
    "sharedworker": "script",
    "serviceworker": "script",
}


def cors_hints(obj: object, where: str, path: str) -> Hints:
    """Validate a `_cors` object and turn it into hints. `where` names the record
    ("entry 3", "line 7") for the error message."""
    hints = Hints()
    if obj is None:
        return hints
    if not isinstance(obj, Mapping):
        raise InputError(path, f"{where}: _cors must be an object, not {describe_type(obj)}")
    for key, (hint_key, allowed) in _STRING_FIELDS.items():
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            got = describe_type(value)
            raise InputError(path, f"{where}: _cors.{key} must be a string, not {got}")
        if allowed is not None and value not in allowed:
            choices = ", ".join(sorted(allowed))
            raise InputError(path, f"{where}: _cors.{key} is {value!r}, expected one of {choices}")
        hints[hint_key] = value  # type: ignore[literal-required]
    browser = obj.get("browser")
    if browser is not None:
        hints["browser"] = _browser_verdict(browser, where, path)
    worker = obj.get("worker")
    if worker is not None:
        hints.update(_worker_answer(worker, where, path))
    names = obj.get("headerNames")
    if names is not None:
        hints["header_names"] = _header_names(names, where, path)
    integrity = obj.get("integrity")
    if integrity is not None:
        if not isinstance(integrity, bool):
            got = describe_type(integrity)
            raise InputError(path, f"{where}: _cors.integrity must be a boolean, not {got}")
        hints["integrity"] = integrity
    from_worker = obj.get("fromWorker")
    if from_worker is not None:
        if not isinstance(from_worker, bool):
            got = describe_type(from_worker)
            raise InputError(path, f"{where}: _cors.fromWorker must be a boolean, not {got}")
        hints["from_worker"] = from_worker
    return hints


MAX_HEADER_NAMES = 64


def _header_names(obj: object, where: str, path: str) -> tuple[str, ...]:
    """`_cors.headerNames`: header names (tokens), lower-cased, first occurrence kept."""
    if not isinstance(obj, list) or len(obj) > MAX_HEADER_NAMES:
        raise InputError(
            path, f"{where}: _cors.headerNames must be a list of at most {MAX_HEADER_NAMES} names"
        )
    names: dict[str, None] = {}
    for name in obj:
        if not isinstance(name, str) or not is_token(name):
            raise InputError(path, f"{where}: _cors.headerNames holds {name!r}, not a header name")
        names[name.lower()] = None
    return tuple(names)


WORKER_ANSWERS: frozenset[str] = frozenset({"network", "cache-storage", "synthetic", "other"})
RESPONSE_TYPES: frozenset[str] = frozenset(
    {"basic", "cors", "default", "error", "opaque", "opaqueredirect"}
)


def _worker_answer(obj: object, where: str, path: str) -> Hints:
    """`_cors.worker`: what a service worker's respondWith() handed the page:
    {"answer": "network|cache-storage|synthetic|other", "type": <Response.type>,
    "failure": why the browser refused it, or null}."""
    if not isinstance(obj, Mapping):
        got = describe_type(obj)
        raise InputError(path, f"{where}: _cors.worker must be an object, not {got}")
    hints = Hints()
    for key, hint_key, allowed in (
        ("answer", "worker_answer", WORKER_ANSWERS),
        ("type", "worker_response_type", RESPONSE_TYPES),
    ):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or value not in allowed:
            choices = ", ".join(sorted(allowed))
            raise InputError(
                path, f"{where}: _cors.worker.{key} is {value!r}, expected one of {choices}"
            )
        hints[hint_key] = value  # type: ignore[literal-required]
    failure = obj.get("failure")
    if failure is not None:
        if not isinstance(failure, str) or not failure:
            raise InputError(
                path, f"{where}: _cors.worker.failure must be a non-empty string or null"
            )
        hints["worker_failure"] = failure
    return hints


def _browser_verdict(obj: object, where: str, path: str) -> BrowserVerdict:
    if not isinstance(obj, Mapping):
        got = describe_type(obj)
        raise InputError(path, f"{where}: _cors.browser must be an object, not {got}")
    blocked = obj.get("blocked")
    if not isinstance(blocked, bool):
        raise InputError(path, f"{where}: _cors.browser.blocked must be true or false")
    reason = obj.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InputError(path, f"{where}: _cors.browser.reason must be a string or null")
    # CDP spells it failedParameter; accept both so a probe can pass CDP's object through.
    failed = obj.get("failed_parameter", obj.get("failedParameter"))
    if failed is not None and not isinstance(failed, str):
        raise InputError(path, f"{where}: _cors.browser.failed_parameter must be a string or null")
    return BrowserVerdict(blocked=blocked, reason=reason, failed_parameter=failed)


def resource_type_from_dest(dest: str | None) -> str | None:
    if not dest:
        return None
    dest = dest.strip().lower()
    return _DEST_TO_RESOURCE_TYPE.get(dest, dest or None)


def describe_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
