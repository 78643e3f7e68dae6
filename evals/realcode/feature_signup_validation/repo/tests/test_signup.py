from signup import register


def test_register_normalises():
    m = register("  Ada ", "ADA@Example.org ", "36")
    assert (m.name, m.email, m.age) == ("Ada", "ada@example.org", 36)
