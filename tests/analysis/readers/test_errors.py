from analysis.readers.errors import InputError


def test_str_is_path_colon_message() -> None:
    err = InputError("/tmp/a.har", "not valid JSON")
    assert str(err) == "/tmp/a.har: not valid JSON"
    assert err.path == "/tmp/a.har"
    assert err.message == "not valid JSON"


def test_message_is_one_line() -> None:
    err = InputError("f", "first\nsecond  line")
    assert str(err) == "f: first second line"
