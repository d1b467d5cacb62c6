import pytest

from analysis.sites import is_ip, registrable_domain


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("www.app.test", "app.test"),
        ("app.test", "app.test"),
        ("evilapp.test", "evilapp.test"),
        ("a.b.example.co.uk", "example.co.uk"),
        ("shop.example.com.au", "example.com.au"),
        ("me.github.io", "me.github.io"),
        ("WWW.Example.COM.", "example.com"),
    ],
)
def test_the_registrable_domain(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


def test_addresses_are_no_names() -> None:
    assert is_ip("127.0.0.1") and is_ip("[::1]")
    assert not is_ip("localhost") and not is_ip("1.example")
