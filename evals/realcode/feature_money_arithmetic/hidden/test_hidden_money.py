import pytest

from money import Money


def test_equality():
    assert Money(150, "EUR") == Money(150, "EUR")
    assert Money(150, "EUR") != Money(150, "USD")
    assert Money(150, "EUR") != Money(151, "EUR")
    assert Money(1, "EUR") != "1"


def test_addition_same_currency():
    total = Money(150, "EUR") + Money(275, "EUR")
    assert total == Money(425, "EUR")
    assert str(total) == "4.25 EUR"


def test_addition_other_currency_is_an_error():
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(1, "USD")


def test_sum_of_amounts():
    assert sum([Money(1), Money(2), Money(3)], Money(0)) == Money(6)


def test_hashable():
    assert len({Money(5), Money(5), Money(6)}) == 2
