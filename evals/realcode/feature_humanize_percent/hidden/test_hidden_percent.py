import humanize


def test_percent_rounds_to_whole_percent():
    assert humanize.percent(0.256) == "26%"
    assert humanize.percent(1) == "100%"
    assert humanize.percent(0) == "0%"


def test_percent_digits():
    assert humanize.percent(0.25678, 1) == "25.7%"
    assert humanize.percent(0.5, 2) == "50.00%"


def test_percent_leaves_non_numbers_alone():
    assert humanize.percent("abc") == "abc"
    assert humanize.percent(None) == "None"
