import pytest

from signup import register, register_all


@pytest.mark.parametrize("row", [
    ("", "a@b.org", "30"),
    ("   ", "a@b.org", "30"),
    ("Ann", "not-an-email", "30"),
    ("Ann", "a@", "30"),
    ("Ann", "a@b.org", "-1"),
    ("Ann", "a@b.org", "151"),
    ("Ann", "a@b.org", "thirty"),
])
def test_bad_rows_are_rejected(row):
    with pytest.raises(ValueError):
        register(*row)


def test_good_rows_still_work():
    members = register_all([("Ann", "ann@b.org", "0"), ("Bo", " BO@c.io", "150")])
    assert [m.age for m in members] == [0, 150]
    assert members[1].email == "bo@c.io"
