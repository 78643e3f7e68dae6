from shop import pricing


def invoice_lines(cart):
    out = []
    for name, net, category in cart.lines:
        tax = pricing.calc_tax(net, category)
        out.append(f"{name:<12}{net:>8.2f}{tax:>8.2f}")
    return out
