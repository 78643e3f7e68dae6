TAX_RATES = {"standard": 0.20, "reduced": 0.05, "zero": 0.0}


def calc_tax(amount, category="standard"):
    """The tax on a net amount, rounded to cents."""
    return round(amount * TAX_RATES[category], 2)


def gross(amount, category="standard"):
    return round(amount + calc_tax(amount, category), 2)
