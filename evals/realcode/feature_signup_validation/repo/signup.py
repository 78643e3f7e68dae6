"""Sign-up records for the club's mailing list."""

from dataclasses import dataclass


@dataclass
class Member:
    name: str
    email: str
    age: int


def register(name, email, age):
    """Create a member from the sign-up form's fields (all strings)."""
    return Member(name=name.strip(), email=email.strip().lower(), age=int(age))


def register_all(rows):
    return [register(*row) for row in rows]
