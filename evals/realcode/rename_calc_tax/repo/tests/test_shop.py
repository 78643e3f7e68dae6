from shop.cart import Cart
from shop.invoice import invoice_lines
from shop.pricing import calc_tax


def test_tax():
    assert calc_tax(100) == 20.0
    assert calc_tax(100, "reduced") == 5.0


def test_cart_and_invoice():
    cart = Cart()
    cart.add("book", 10, 2, "reduced")
    cart.add("pen", 2.5)
    assert cart.tax() == 1.5
    assert cart.total() == 24.0
    assert invoice_lines(cart)[0].split() == ["book", "20.00", "1.00"]
