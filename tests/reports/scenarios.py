"""Captures for report tests: a realistic session, one seeded with secrets, one with hostile
values. Each is a list of Exchanges as the readers would build them."""

from __future__ import annotations

from analysis.model import BrowserVerdict, Exchange
from tests.reports.builders import (
    API,
    PAGE,
    T0,
    get,
    preflighted,
    redirected,
    renumbered,
)

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ADMIN = "https://admin.example.test"
CDN = "https://cdn.example.test"

# Secrets seeded into the secrets capture; none may appear in a redacted report.
COOKIE_SECRET = "sess-9f8e7d6c5b4a"
SET_COOKIE_SECRET = "newsess-0a1b2c3d4e"
BEARER_SECRET = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.S1gnAtUrE"
API_KEY_SECRET = "live_k3y_5550123"
QUERY_TOKEN_SECRET = "qtok-77aa88bb99cc"
USERINFO_SECRET = "hunter2pass"
SECRETS = (
    COOKIE_SECRET,
    SET_COOKIE_SECRET,
    BEARER_SECRET,
    API_KEY_SECRET,
    QUERY_TOKEN_SECRET,
    USERINFO_SECRET,
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"


def session() -> list[Exchange]:
    """Ten minutes of a shop talking to its API: several causes, many repeats."""
    ok = [(ACAO, PAGE), ("Vary", "Origin"), ("X-Powered-By", "Express"), ("Server", "nginx")]
    templates = [
        get("users", API + "/api/users", ok),
        get(
            "orders", API + "/api/orders?page=2", [("X-Powered-By", "Express"), ("Server", "nginx")]
        ),
        get("err", API + "/api/users/7", [("Server", "nginx")], status=500, body="upstream error"),
        preflighted(
            "put", "PUT", API + "/api/items/7", 404, [("Server", "nginx")], announced="content-type"
        ),
        get(
            "cookie",
            API + "/api/cart",
            [(ACAO, "*"), ("Server", "nginx")],
            request_headers=[("Cookie", "theme=dark")],
            credentials="include",
        ),
        get("cond", API + "/api/catalog", [(ACAO, "*")], credentials=None),
        get(
            "dup",
            API + "/api/search?q=shoes",
            [("Server", "nginx"), (ACAO, PAGE), (ACAO, PAGE), ("X-Powered-By", "Express")],
            browser=BrowserVerdict(True, "MultipleAllowOriginValues", f"{PAGE}, {PAGE}"),
        ),
        get(
            "cdn",
            CDN + "/assets/config.json",
            [
                (ACAO, ADMIN),
                ("Age", "313"),
                ("X-Cache", "HIT"),
                ("Cache-Control", "public, max-age=600"),
            ],
        ),
        get("sw", API + "/api/profile", [], source="service-worker", page=PAGE + "/account"),
        redirected("redir", API + "/api/v1/items", "https://other.example.test/api/v2/items"),
    ]
    exchanges: list[Exchange] = []
    for minute in range(10):
        for index, template in enumerate(templates):
            repeats = 1 + (index * 3 + minute) % 4 if index < 4 else 1
            for repeat in range(repeats):
                started = T0 + minute * 60 + index * 5 + repeat * 0.7
                exchanges.append(renumbered(template, f"{template.id}-{minute}-{repeat}", started))
    return exchanges


def with_secrets() -> list[Exchange]:
    """Cookies, a bearer token, an API key, a token query parameter and URL userinfo."""
    return [
        get(
            "s1",
            f"https://alice:{USERINFO_SECRET}@api.example.test/api/me?access_token={QUERY_TOKEN_SECRET}",
            [
                (ACAO, "*"),
                ("Set-Cookie", f"sid={SET_COOKIE_SECRET}; Path=/; Secure; SameSite=None"),
            ],
            request_headers=[
                ("Cookie", f"sid={COOKIE_SECRET}; theme=dark"),
                ("Authorization", f"Bearer {BEARER_SECRET}"),
                ("X-Api-Key", API_KEY_SECRET),
            ],
            credentials="include",
            page=f"{PAGE}/callback?code=abc123&token={QUERY_TOKEN_SECRET}",
        ),
        preflighted(
            "s2",
            "POST",
            f"{API}/api/orders?api_key={API_KEY_SECRET}",
            200,
            [(ACAO, PAGE), ("Access-Control-Allow-Methods", "POST")],
            announced="authorization,x-api-key",
            actual_status=None,
        ),
    ]


def hostile() -> list[Exchange]:
    """Every captured field a page or server controls, carrying markup and script URLs."""
    return [
        get(
            "h1" + SCRIPT,
            f"{API}/api/{SCRIPT}?q={IMG}&next={JS_URL}",
            [(ACAO, IMG), ("X-Evil" + SCRIPT, JS_URL), ("Server", SCRIPT)],
            request_headers=[("X-Note", SCRIPT), ("Referer", JS_URL)],
            page=f"{PAGE}/{IMG}",
            body=SCRIPT + IMG,
        ),
        get(
            "h2",
            f"{API}/api/items",
            [(ACAO, JS_URL), ("Location", JS_URL)],
            status=500,
            body=f"</script><script>alert(1)</script>{JS_URL}",
        ),
        preflighted(
            "h3",
            "PUT",
            f"{API}/x?{SCRIPT}",
            404,
            [("X-Powered-By", SCRIPT)],
            announced=f"x-{IMG}",
        ),
    ]
