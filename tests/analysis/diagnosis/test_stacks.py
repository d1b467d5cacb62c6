"""Fingerprints from header sets as real servers send them."""

from __future__ import annotations

import pytest

from analysis.diagnosis.stacks import (
    STACK_IDS,
    Stack,
    app_layer,
    aws_api_flavor,
    fingerprint,
    front_layers,
)
from analysis.model import Headers, Response

PAGE = "http://localhost:5173"


def resp(
    status: int = 200, *pairs: tuple[str, str], body: str | None = None, by_proxy: bool = False
) -> Response:
    return Response(status, Headers.of(pairs), body_excerpt=body, made_by_proxy=by_proxy)


# One realistic response set per stack id; (expected id, expected layers).
CASES: dict[str, tuple[list[Response], str, tuple[str, ...]]] = {
    "express": (
        [
            resp(
                200,
                ("X-Powered-By", "Express"),
                ("Access-Control-Allow-Origin", PAGE),
                ("Vary", "Origin"),
                ("Content-Type", "application/json; charset=utf-8"),
                ("ETag", 'W/"2-l9Fw4VUO7kr8CvBlt4zaMCqXZ0w"'),
            )
        ],
        "express",
        ("express",),
    ),
    "express-preflight-only": (
        # Only the cors package's preflight answer: its method list and Vary give it away.
        [
            resp(
                204,
                ("Access-Control-Allow-Origin", PAGE),
                ("Vary", "Origin, Access-Control-Request-Headers"),
                ("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"),
                ("Access-Control-Allow-Headers", "content-type"),
                ("Content-Length", "0"),
            )
        ],
        "express",
        ("express",),
    ),
    "express-404": (
        [
            resp(
                404,
                ("Content-Security-Policy", "default-src 'none'"),
                ("X-Content-Type-Options", "nosniff"),
                body="<!DOCTYPE html>\n<html><body><pre>Cannot OPTIONS /api/items</pre></body>",
            )
        ],
        "express",
        ("express",),
    ),
    "nginx": (
        [resp(200, ("Server", "nginx/1.25.3"), ("Content-Type", "application/json"))],
        "nginx",
        ("nginx",),
    ),
    "nginx-tokens-off": (
        [resp(502, ("Server", "nginx"), body="<hr><center>nginx</center>\r\n</body>")],
        "nginx",
        ("nginx",),
    ),
    "caddy": ([resp(200, ("Server", "Caddy"))], "caddy", ("caddy",)),
    "apache": (
        [
            resp(
                404,
                ("Server", "Apache/2.4.58 (Ubuntu)"),
                body="<address>Apache/2.4.58 (Ubuntu) Server at api.test Port 80</address>",
            )
        ],
        "apache",
        ("apache",),
    ),
    "aws-api-gateway-rest": (
        [
            resp(
                403,
                ("x-amzn-RequestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
                ("x-amz-apigw-id", "Ab1CdEfGhIjKlMn="),
                ("x-amzn-ErrorType", "MissingAuthenticationTokenException"),
                body='{"message":"Missing Authentication Token"}',
            )
        ],
        "aws-api-gateway",
        ("aws-api-gateway",),
    ),
    "aws-api-gateway-http": (
        [resp(200, ("apigw-requestid", "KXyZ1jwkoAMEVxA="), ("Content-Type", "application/json"))],
        "aws-api-gateway",
        ("aws-api-gateway",),
    ),
    "cloudflare": (
        [
            resp(
                200,
                ("Server", "cloudflare"),
                ("CF-RAY", "8f1c2a3b4c5d6e7f-FRA"),
                ("cf-cache-status", "DYNAMIC"),
            )
        ],
        "cloudflare",
        ("cloudflare",),
    ),
    "starlette": (
        [
            resp(200, ("server", "uvicorn"), ("content-type", "application/json")),
            resp(
                400,
                ("server", "uvicorn"),
                ("content-type", "text/plain; charset=utf-8"),
                body="Disallowed CORS origin",
            ),
        ],
        "starlette",
        ("starlette",),
    ),
    "starlette-preflight": (
        [
            resp(
                200,
                ("access-control-allow-origin", PAGE),
                ("access-control-allow-methods", "GET, POST"),
                ("access-control-max-age", "600"),
                ("vary", "Origin"),
                body="OK",
            )
        ],
        "starlette",
        ("starlette",),
    ),
    "django": (
        [
            resp(
                200,
                ("Server", "gunicorn"),
                ("access-control-allow-origin", PAGE),
                (
                    "access-control-allow-headers",
                    "accept, authorization, content-type, "
                    "user-agent, x-csrftoken, x-requested-with",
                ),
                ("access-control-allow-methods", "DELETE, GET, OPTIONS, PATCH, POST, PUT"),
                ("access-control-max-age", "86400"),
            )
        ],
        "django",
        ("django",),
    ),
    "django-by-defaults": (
        # gunicorn alone is Django-or-Flask; Django's security header defaults break the tie.
        [
            resp(
                200,
                ("Server", "gunicorn"),
                ("Referrer-Policy", "same-origin"),
                ("Cross-Origin-Opener-Policy", "same-origin"),
                ("X-Frame-Options", "DENY"),
            )
        ],
        "django",
        ("django",),
    ),
    "flask": (
        [resp(200, ("Server", "Werkzeug/3.0.1 Python/3.12.1"))],
        "flask",
        ("flask",),
    ),
    "flask-behind-gunicorn": (
        [
            resp(200, ("Server", "gunicorn")),
            resp(
                404,
                ("Server", "gunicorn"),
                body="<h1>Not Found</h1>\n<p>The requested URL was not found on the server. "
                "If you entered the URL manually please check your spelling and try again.</p>",
            ),
        ],
        "flask",
        ("flask",),
    ),
    "spring": (
        [
            resp(
                403,
                ("Vary", "Origin"),
                ("Vary", "Access-Control-Request-Method"),
                ("Vary", "Access-Control-Request-Headers"),
                body="Invalid CORS request",
            )
        ],
        "spring",
        ("spring",),
    ),
    "spring-boot-error": (
        [
            resp(
                404,
                ("Content-Type", "application/json"),
                body='{"timestamp":"2024-05-01T10:00:00.000+00:00","status":404,'
                '"error":"Not Found","path":"/api/items"}',
            )
        ],
        "spring",
        ("spring",),
    ),
    "aspnet": (
        [resp(200, ("Server", "Kestrel"), ("Content-Type", "application/json"))],
        "aspnet",
        ("aspnet",),
    ),
    "aspnet-iis": (
        [resp(200, ("Server", "Microsoft-IIS/10.0"), ("X-Powered-By", "ASP.NET"))],
        "aspnet",
        ("iis", "aspnet"),
    ),
    "s3-behind-cloudfront": (
        # A web font served from a bucket through CloudFront.
        [
            resp(
                200,
                ("Content-Type", "font/woff2"),
                ("Server", "AmazonS3"),
                ("X-Cache", "Miss from cloudfront"),
                ("Via", "1.1 5f1c0e7d3a2b.cloudfront.net (CloudFront)"),
                ("X-Amz-Cf-Pop", "FRA56-P1"),
            )
        ],
        "s3",
        ("cloudfront", "s3"),
    ),
    "s3-direct": (
        # Server dropped by a proxy on the way: S3's own request ids still name it.
        [
            resp(
                403,
                ("x-amz-request-id", "0D3F5A1B2C4E6F70"),
                ("x-amz-id-2", "K7p0Rk1mY2Fz0lab="),
                ("Content-Type", "application/xml"),
            )
        ],
        "s3",
        ("s3",),
    ),
    "generic": (
        [
            resp(
                200, ("Content-Type", "application/json"), ("Date", "Mon, 01 Jan 2024 00:00:00 GMT")
            )
        ],
        "generic",
        (),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fingerprint_per_stack(case: str) -> None:
    responses, expected_id, expected_layers = CASES[case]
    stack = fingerprint(responses)
    assert stack.id == expected_id
    assert stack.layers == expected_layers
    assert stack.id in STACK_IDS
    if expected_id != "generic":
        assert stack.evidence, "a recognised stack says why"


def test_every_stack_id_has_a_case() -> None:
    covered = {expected for _, expected, _ in CASES.values()}
    assert covered == set(STACK_IDS)


def test_cloudflare_nginx_express_layers_front_to_back() -> None:
    responses = [
        resp(
            200,
            ("Server", "cloudflare"),
            ("CF-RAY", "8f1c2a3b4c5d6e7f-AMS"),
            ("X-Powered-By", "Express"),
            ("Access-Control-Allow-Origin", PAGE),
        ),
        # nginx shows only on its own error page: Cloudflare rewrote Server.
        resp(
            404,
            ("Server", "cloudflare"),
            ("CF-RAY", "8f1c2a3b4c5d6e80-AMS"),
            body="<html><head><title>404 Not Found</title></head><body>"
            "<center><h1>404 Not Found</h1></center><hr><center>nginx</center>",
        ),
    ]
    stack = fingerprint(responses)
    assert stack.layers == ("cloudflare", "nginx", "express")
    assert stack.id == "express"
    assert app_layer(stack) == "express"
    assert front_layers(stack) == ("cloudflare", "nginx")
    assert "X-Powered-By: Express" in stack.evidence
    assert "nginx error page" in stack.evidence


def test_duplicate_allow_origin_behind_nginx_names_both_layers() -> None:
    stack = fingerprint(
        [
            resp(
                200,
                ("Server", "nginx/1.24.0"),
                ("X-Powered-By", "Express"),
                ("Access-Control-Allow-Origin", PAGE),
                ("Access-Control-Allow-Origin", PAGE),
            )
        ]
    )
    assert stack.layers == ("nginx", "express")
    assert stack.id == "express"
    assert "Server: nginx/1.24.0" in stack.evidence
    assert "Access-Control-Allow-Origin sent 2 times" in stack.evidence


def test_proxy_only_owner_is_the_innermost_proxy() -> None:
    stack = fingerprint([resp(200, ("Server", "cloudflare"), ("cf-ray", "x")), resp(200)])
    assert stack.id == "cloudflare"
    stack = fingerprint(
        [resp(200, ("Via", "1.1 abcdef.cloudfront.net (CloudFront)"), ("x-amz-apigw-id", "a="))]
    )
    assert stack.layers == ("cloudfront", "aws-api-gateway")
    assert stack.id == "aws-api-gateway"


def test_cloudfront_alone_has_no_idiom_of_its_own() -> None:
    stack = fingerprint([resp(200, ("X-Cache", "Hit from cloudfront"), ("X-Amz-Cf-Id", "abc"))])
    assert stack.layers == ("cloudfront",)
    assert stack.id == "generic"


def test_gunicorn_alone_is_undecided() -> None:
    stack = fingerprint([resp(200, ("Server", "gunicorn"))])
    assert stack.id == "generic"
    assert stack.layers == ()
    assert any("gunicorn" in e for e in stack.evidence)


def test_php_behind_nginx_gets_generic_fix_not_the_proxy() -> None:
    stack = fingerprint([resp(200, ("Server", "nginx"), ("X-Powered-By", "PHP/8.3.1"))])
    assert stack.layers == ("nginx", "php")
    assert stack.id == "generic", "the app owns CORS even when we have no idiom for it"


def test_recording_proxy_responses_are_ignored() -> None:
    stack = fingerprint(
        [resp(502, ("Server", "nginx"), body="<center>nginx</center>", by_proxy=True)]
    )
    assert stack == Stack("generic", "your server", (), ())


def test_remapped_server_behind_api_gateway() -> None:
    stack = fingerprint(
        [resp(200, ("x-amzn-RequestId", "r"), ("x-amzn-Remapped-Server", "Kestrel"))]
    )
    assert stack.layers == ("aws-api-gateway", "aspnet")
    assert stack.id == "aspnet"


def test_api_gateway_flavour_from_evidence() -> None:
    rest = fingerprint(CASES["aws-api-gateway-rest"][0])
    http = fingerprint(CASES["aws-api-gateway-http"][0])
    assert aws_api_flavor(rest) == "rest"
    assert aws_api_flavor(http) == "http"
    assert aws_api_flavor(fingerprint([])) is None


def test_competing_apps_keep_the_better_supported_one() -> None:
    stack = fingerprint(
        [
            resp(200, ("Server", "uvicorn")),
            resp(400, ("Server", "uvicorn"), body="Disallowed CORS origin"),
            resp(200, ("Set-Cookie", "sessionid=abc; HttpOnly")),
        ]
    )
    assert stack.id == "starlette"
    assert stack.layers == ("starlette",)


def test_evidence_is_one_line_and_short() -> None:
    hostile = "nginx/1.0\r\nX-Injected: yes " + "A" * 500
    stack = fingerprint([resp(200, ("Server", hostile))])
    assert stack.id == "nginx"
    for text in stack.evidence:
        assert "\n" not in text and "\r" not in text
        assert len(text) < 120


def test_empty_input() -> None:
    stack = fingerprint([])
    assert stack.id == "generic"
    assert stack.layers == ()
    assert stack.evidence == ()
