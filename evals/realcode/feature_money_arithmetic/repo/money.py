"""Amounts of money, kept in whole cents."""


class Money:
    def __init__(self, cents, currency="EUR"):
        self.cents = int(cents)
        self.currency = currency

    @classmethod
    def parse(cls, text):
        """'12.50 EUR' -> Money(1250, 'EUR')."""
        amount, _, currency = text.strip().partition(" ")
        units, _, frac = amount.partition(".")
        cents = int(units) * 100 + int((frac + "00")[:2])
        return cls(cents, currency or "EUR")

    def __str__(self):
        return f"{self.cents // 100}.{self.cents % 100:02d} {self.currency}"
