from boltons import strutils


def test_truncate_short_text_unchanged():
    assert strutils.truncate("hello", 10) == "hello"
    assert strutils.truncate("hello", 5) == "hello"


def test_truncate_long_text_fits_width():
    out = strutils.truncate("hello world", 8)
    assert out == "hello..."
    assert len(out) == 8


def test_truncate_custom_placeholder():
    assert strutils.truncate("abcdefghij", 5, placeholder="~") == "abcd~"
