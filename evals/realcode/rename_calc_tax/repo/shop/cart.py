from shop.pricing import calc_tax, gross


class Cart:
    def __init__(self):
        self.lines = []

    def add(self, name, price, qty=1, category="standard"):
        self.lines.append((name, price * qty, category))

    def tax(self):
        return round(sum(calc_tax(net, cat) for _, net, cat in self.lines), 2)

    def total(self):
        return round(sum(gross(net, cat) for _, net, cat in self.lines), 2)
