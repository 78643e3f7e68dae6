from money import Money


def test_parse_and_str():
    assert str(Money.parse("12.5 EUR")) == "12.50 EUR"
    assert str(Money(7, "USD")) == "0.07 USD"
