"""Opaque Response Blocking (ORB) as Chromium 156 applies it to a no-cors response.

Chromium's "ORB v0.1" (`services/network/orb/orb_impl.cc`, `orb_mimetypes.cc`,
`orb_sniffers.cc`; https://github.com/annevk/orb) differs from the draft standard: it
fails open (anything its sniffers do not recognise as HTML, XML or JSON is allowed), it
sniffs JavaScript-labelled bodies for JSON, and it skips the nosniff and status steps
after sniffing. This module follows the code, not the draft.

The decision needs the first 1,024 bytes of the body only where the headers alone do not
settle it; readers keep just their `sniff` class (one short, shared string) for those
responses, never the bytes. Standard library only: the addon imports it in mitmproxy.
"""

from __future__ import annotations

import re
from typing import Literal

from analysis.model import Headers

SNIFF_BYTES = 1024
"""`net::kMaxBytesToSniff`: how much of the body ORB waits for (`orb_impl.cc` step 5)."""

Sniffed = Literal["media", "image", "html", "xml", "json", "other"]
"""What ORB's sniffers make of the first bytes: an audio/video or image signature
(allowed), HTML, XML or JSON / a parser breaker (blocked), or nothing decisive."""

SNIFFED: tuple[Sniffed, ...] = ("media", "image", "html", "xml", "json", "other")

Decision = Literal["allow", "block", "range", "sniff"]
"""What the headers alone decide; `sniff`: the body's first bytes decide; `range`: blocked
as a later range of a resource, unless the same URL was sniffed as audio or video before
(Chromium remembers that per URL loader factory, which one exchange does not show)."""

EMPTY_DESTINATIONS = frozenset({"fetch", "xhr", "beacon", "ping", "prefetch", "eventsource"})
"""Resource types whose request destination is the empty string. Chromium hands a blocked
response to these as an empty one, not a network error (`ShouldHandleBlockedResponseAs`;
`OpaqueResponseBlockingErrorsForAllFetches` is off by default): measured with Chromium 156,
a no-cors fetch() resolves with its opaque response, a prefetch and a beacon load."""
UNKNOWN_DESTINATIONS = frozenset({"other", "preflight"})
"""Resource types that do not say the destination (Chrome's HAR writes "other" for several)."""
MEDIA_DESTINATIONS = frozenset({"audio", "video", "media"})
"""Resource types whose later ranges follow a first one ORB sniffed as audio or video."""

_NEVER_SNIFFED = frozenset(
    {
        "application/gzip",
        "application/x-gzip",
        "application/x-protobuf",
        "application/zip",
        "text/event-stream",
        "application/msexcel",
        "application/mspowerpoint",
        "application/msword",
        "application/msword-template",
        "application/pdf",
        "application/vnd.ces-quickpoint",
        "application/vnd.ces-quicksheet",
        "application/vnd.ces-quickword",
        "application/vnd.ms-excel",
        "application/vnd.ms-excel.sheet.macroenabled.12",
        "application/vnd.ms-powerpoint",
        "application/vnd.ms-powerpoint.presentation.macroenabled.12",
        "application/vnd.ms-word",
        "application/vnd.ms-word.document.12",
        "application/vnd.ms-word.document.macroenabled.12",
        "application/vnd.msword",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.presentationml.template",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
        "application/vnd.presentation-openxml",
        "application/vnd.presentation-openxmlm",
        "application/vnd.spreadsheet-openxml",
        "application/vnd.wordprocessing-openxml",
        "text/csv",
        "text/pdf",
        "multipart/signed",
        "multipart/byteranges",
    }
)
"""`orb_mimetypes.cc` GetNeverSniffedMimeTypes: blocked on the headers alone."""

_AUDIO_VIDEO_TYPES = frozenset(
    {"application/ogg", "application/dash+xml", "application/vnd.apple.mpegurl", "text/vtt"}
)


# --- The MIME type (net::HttpResponseHeaders::GetMimeType) -------------------------------


def mime_type(headers: Headers) -> str:
    """The MIME type Chromium reads from Content-Type, lower-cased; "" when there is none.

    `HttpResponseHeaders` splits Content-Type on commas (outside quotes) like any header it
    may coalesce, and `HttpUtil::ParseContentType` takes, value after value, the part up to
    whitespace, ";" or "(" whenever it has a "/" and is not "*/*": the last such wins."""
    found = ""
    for field in headers.get_all("content-type"):
        for value in _split_commas(field):
            value = value.strip(" \t")
            end = len(value)
            for mark in " \t;(":
                at = value.find(mark)
                if at != -1 and at < end:
                    end = at
            essence = value[:end]
            if essence and essence != "*/*" and "/" in essence:
                found = essence.lower()
    return found


def _split_commas(value: str) -> list[str]:
    # `HttpUtil::ValuesIterator`: a comma inside a quoted string does not split.
    if '"' not in value:
        return value.split(",")
    parts, start, quoted, i = [], 0, False, 0
    while i < len(value):
        c = value[i]
        if quoted and c == "\\":
            i += 1
        elif c == '"':
            quoted = not quoted
        elif c == "," and not quoted:
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    return parts


def _is_audio_or_video(mime: str) -> bool:
    # orb_impl.cc IsAudioOrVideoMimeType (Chromium's departures from the draft included).
    return mime.startswith(("audio/", "video/")) or mime in _AUDIO_VIDEO_TYPES


def is_opaque_safelisted(mime: str) -> bool:
    """orb_impl.cc IsOpaqueSafelistedMimeType: CSS, SVG, audio and video. JavaScript is
    not: Chromium sniffs it for HTML, XML, JSON and parser breakers first, and lets it
    through only once they found none (HandleEndOfSniffableResponseBody)."""
    return mime in ("text/css", "image/svg+xml") or _is_audio_or_video(mime)


def _canonical(mime: str) -> str:
    # orb_mimetypes.cc GetCanonicalMimeType.
    if mime in ("image/svg+xml", "application/dash+xml"):
        return "others"
    if mime == "text/html":
        return "html"
    if mime in ("application/json", "text/json", "application/json+protobuf") or mime.endswith(
        "+json"
    ):
        return "json"
    if mime in ("application/xml", "text/xml") or mime.endswith("+xml"):
        return "xml"
    if mime == "text/plain":
        return "plain"
    if mime in _NEVER_SNIFFED:
        return "never-sniffed"
    return "others"


# --- The decision on the headers (OpaqueResponseBlockingAnalyzer::Init) ------------------


def by_headers(status: int, headers: Headers) -> Decision:
    """ORB's decision before any body byte: `orb_impl.cc` Init, steps 1-5."""
    mime = mime_type(headers)
    nosniff = has_nosniff(headers)  # step 2
    if mime:
        if is_opaque_safelisted(mime):
            return "allow"  # step 3.i
        kind = _canonical(mime)
        if kind == "never-sniffed":
            return "block"  # step 3.ii
        if kind in ("html", "json", "plain", "xml") and nosniff:
            return "block"  # step 3.iv
    if status == 206 and _range_starts_after_zero(headers.get("content-range")):
        # Step 4 (Chromium's): a later range of a resource not earlier sniffed as media.
        return "range"
    if not mime:
        # Step 12 comes before the HTML/XML/JSON sniffers: nothing left can block.
        return "allow"
    return "sniff"


def has_nosniff(headers: Headers) -> bool:
    """Fetch §3.6 "determine nosniff": the first value of the combined, comma-split
    X-Content-Type-Options list is `nosniff`, ASCII case-insensitively. Measured, Chromium
    156 (its `HasNoSniff` reads as an exact match, yet ORB blocked a text/plain script with
    "nosniff, nosniff" and a stylesheet with "nosniff,foo"); Blink's
    `ParseContentTypeOptionsHeader` reads it so too: "nosniff;x" and "foo, nosniff" are not."""
    values = headers.get_all("x-content-type-options")
    if not values:
        return False
    return ", ".join(values).split(",")[0].strip(" \t").lower() == "nosniff"


def _range_starts_after_zero(value: str | None) -> bool:
    # HttpUtil::ParseContentRangeHeaderFor206: "bytes first-last/length", first > 0.
    if not value:
        return False
    unit, _, spec = value.strip().partition(" ")
    if unit.lower() != "bytes":
        return False
    span, _, length = spec.strip().partition("/")
    first, dash, last = span.partition("-")
    try:
        start, end = int(first.strip()), int(last.strip())
        total = None if length.strip() == "*" else int(length.strip())
    except ValueError:
        return False
    if not dash or start < 0 or end < start or (total is not None and end >= total):
        return False
    return start > 0


def decide(status: int, headers: Headers, sniffed: str | None) -> bool | None:
    """True: ORB blocks this no-cors cross-origin answer; None: the body decides and its
    first bytes are unknown."""
    decision = by_headers(status, headers)
    if decision != "sniff":
        return decision != "allow"
    if sniffed is None:
        return None
    # orb_impl.cc Sniff: media and images are allowed, HTML, XML and JSON blocked, and
    # HandleEndOfSniffableResponseBody allows whatever is left (it fails open).
    return sniffed in ("html", "xml", "json")


def keeps_sniff(method: str, request: Headers, status: int, response: Headers) -> bool:
    """Whether a reader keeps the `sniff` class of this answer's body: the request may be
    a no-cors one, and the headers leave the decision to the body. Sec-Fetch-Mode names
    the mode where Chromium sends it; without it, a GET or HEAD in CORS mode carries Origin.
    Whether it crossed origins is the engine's to work out."""
    mode = request.get("sec-fetch-mode")
    return may_be_no_cors(method, mode, "origin" in request) and (
        by_headers(status, response) == "sniff"
    )


def may_be_no_cors(method: str, mode: str | None, has_origin: bool) -> bool:
    """Could this request have gone in mode no-cors? `mode`: its Sec-Fetch-Mode, where sent."""
    if method.upper() not in ("GET", "HEAD", "POST"):
        return False  # Fetch's main fetch: a no-cors request has a CORS-safelisted method
    if mode is not None:
        return mode.strip().lower() == "no-cors"
    return not has_origin or method.upper() not in ("GET", "HEAD")


# --- Sniffing the first bytes (OpaqueResponseBlockingAnalyzer::Sniff) ---------------------


def sniff(body: bytes) -> Sniffed:
    """The class of the body's first `SNIFF_BYTES` bytes, as ORB's sniffers see them."""
    data = body[:SNIFF_BYTES]
    local = _sniff_local(data)
    if local is not None:
        # Step 7 (audio/video) and step 9 (images), net::SniffMimeTypeFromLocalData.
        if _is_audio_or_video(local):
            return "media"
        if local.startswith("image/"):
            return "image"
    if data.startswith(_UTF8_BOM):
        # Measured, Chromium 156 (not in the sources read): one leading UTF-8 BOM does not
        # hide HTML, XML, JSON or a parser breaker; a second one, or one after whitespace,
        # does.
        data = data[len(_UTF8_BOM) :]
    if _is_html(data):
        return "html"
    if _is_xml(data):
        return "xml"
    if _is_fetch_only(data):
        return "json"
    return "other"


_UTF8_BOM = b"\xef\xbb\xbf"


# net/base/mime_sniffer.cc: kExtraMagicNumbers, then kMagicNumbers; "." matches any byte.
_EXTRA_MAGIC: tuple[tuple[str, bytes, bytes | None], ...] = (
    ("image/x-xbitmap", b"#define", None),
    ("image/x-icon", b"\x00\x00\x01\x00", None),
    ("audio/wav", b"RIFF....WAVEfmt ", None),
    ("video/avi", b"RIFF....AVI LIST", None),
    ("audio/ogg", b"OggS\x00", None),
    ("video/mpeg", b"\x00\x00\x01\xb0", b"\xff\xff\xff\xf0"),
    ("audio/mpeg", b"\xff\xe0", b"\xff\xe0"),
    ("video/3gpp", b"....ftyp3g", None),
    ("video/3gpp", b"....ftypavcl", None),
    ("video/mp4", b"....ftyp", None),
    ("video/quicktime", b"....moov", None),
    ("application/x-shockwave-flash", b"CWS", None),
    ("application/x-shockwave-flash", b"FWS", None),
    ("video/x-flv", b"FLV", None),
    ("audio/x-flac", b"fLaC", None),
    ("audio/amr", b"#!AMR\n", None),
    ("image/x-canon-cr2", b"II\x2a\x00\x10\x00\x00\x00CR", None),
    ("image/x-canon-crw", b"II\x1a\x00\x00\x00HEAPCCDR", None),
    ("image/x-minolta-mrw", b"\x00MRM", None),
    ("image/x-olympus-orf", b"MMOR", None),
    ("image/x-olympus-orf", b"IIRO", None),
    ("image/x-olympus-orf", b"IIRS", None),
    ("image/x-fuji-raf", b"FUJIFILMCCD-RAW ", None),
    ("image/x-panasonic-raw", b"IIU\x00\x08\x00\x00\x00", None),
    ("image/x-panasonic-raw", b"IIU\x00\x18\x00\x00\x00", None),
    ("image/x-phaseone-raw", b"MMMMRaw", None),
    ("image/x-x3f", b"FOVb", None),
)
_MAGIC: tuple[tuple[str, bytes, bytes | None], ...] = (
    ("application/pdf", b"%PDF-", None),
    ("application/postscript", b"%!PS-Adobe-", None),
    ("image/gif", b"GIF87a", None),
    ("image/gif", b"GIF89a", None),
    ("image/png", b"\x89PNG\x0d\x0a\x1a\x0a", None),
    ("image/jpeg", b"\xff\xd8\xff", None),
    ("image/bmp", b"BM", None),
    ("text/plain", b"#!", None),
    ("text/plain", b"%!", None),
    ("text/plain", b"From", None),
    ("text/plain", b">From", None),
    ("application/x-gzip", b"\x1f\x8b\x08", None),
    ("audio/x-pn-realaudio", b"\x2e\x52\x4d\x46", None),
    (
        "video/x-ms-asf",
        b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c",
        None,
    ),
    ("image/tiff", b"I I", None),
    ("image/tiff", b"II*", None),
    ("image/tiff", b"MM\x00*", None),
    ("audio/mpeg", b"ID3", None),
    ("image/webp", b"RIFF....WEBPVP", None),
    ("video/webm", b"\x1a\x45\xdf\xa3", None),
    ("application/zip", b"PK\x03\x04", None),
    ("application/x-rar-compressed", b"Rar!\x1a\x07\x00", None),
    ("application/x-msmetafile", b"\xd7\xcd\xc6\x9a", None),
    ("application/octet-stream", b"MZ", None),
)


def _pattern(magic: bytes, mask: bytes | None) -> bytes:
    # "." matches any byte (MagicCmp); a masked byte, every byte it keeps equal (MagicMaskCmp).
    out = []
    for i, m in enumerate(magic):
        k = 0xFF if mask is None else mask[i]
        if mask is None and m == ord("."):
            out.append(b".")
        elif k == 0xFF:
            out.append(re.escape(bytes([m])))
        else:
            matching = bytes(c for c in range(256) if c & k == m)
            out.append(b"[" + b"".join(re.escape(bytes([c])) for c in matching) + b"]")
    return b"".join(out)


_MAGIC_TABLE = (*_EXTRA_MAGIC, *_MAGIC)
# One alternation in table order: `re.match` takes the first entry that matches, as
# CheckForMagicNumbers does.
_MAGIC_RE = re.compile(
    b"|".join(b"(" + _pattern(magic, mask) + b")" for _, magic, mask in _MAGIC_TABLE), re.DOTALL
)


def _sniff_local(data: bytes) -> str | None:
    found = _MAGIC_RE.match(data)
    if found is None:
        return None
    return _MAGIC_TABLE[(found.lastindex or 1) - 1][0]


_HTML_SIGNATURES = (
    b"<!doctype html",
    b"<script",
    b"<html",
    b"<head",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<p",
)
_PARSER_BREAKERS = (
    b")]}'",
    b"{}&&",
    b"{} &&",
    b"for(;;);",
    b"while(1);",
    b"for (;;);",
    b"while (1);",
)
# orb_sniffers.cc MatchesSignature says "yes", "maybe" (a prefix of a signature) or "no";
# only a "yes" blocks, and no signature is a prefix of an earlier one, so a match of any
# decides (HTML's case-insensitively, ASCII only).
_HTML_RE = re.compile(b"|".join(map(re.escape, _HTML_SIGNATURES)), re.IGNORECASE)
_BREAKER_RE = re.compile(b"|".join(map(re.escape, _PARSER_BREAKERS)))
# SniffForJSON: `{`, a string (any byte after a backslash), then `:`, whitespace between.
_JSON_RE = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"(?:[^"\\]|\\.)*"[ \t\r\n]*:', re.DOTALL)
_WHITESPACE = b" \t\r\n"
_LINE_END_RE = re.compile(b"[\n\r]|\xe2\x80[\xa8\xa9]")


def _is_html(data: bytes) -> bool:
    # orb_sniffers.cc SniffForHTML: a tag after whitespace and whole HTML comments.
    while data:
        data = data.lstrip(_WHITESPACE)
        if _HTML_RE.match(data):
            return True
        # MaybeSkipHtmlComment: a comment counts up to the next JavaScript line terminator
        # after it (crbug.com/839945); without one it may still go on.
        if not data.startswith(b"<!--"):
            return False
        end = data.find(b"-->", 4)
        if end == -1:
            return False
        line_end = _LINE_END_RE.search(data, end + 3)
        if line_end is None:
            return False
        data = data[line_end.start() :]
    return False


def _is_xml(data: bytes) -> bool:
    # orb_sniffers.cc SniffForXML: "<?xml" after whitespace, case-sensitively.
    return data.lstrip(_WHITESPACE).startswith(b"<?xml")


def _is_fetch_only(data: bytes) -> bool:
    # orb_sniffers.cc SniffForFetchOnlyResource: a parser breaker, else a JSON object.
    return _BREAKER_RE.match(data) is not None or _JSON_RE.match(data) is not None
