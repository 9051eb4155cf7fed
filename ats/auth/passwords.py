"""argon2id password hashes; parameters come from config (PASSWORD_HASH)."""
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    return _hasher(**current_app.config["PASSWORD_HASH"])


@lru_cache(maxsize=4)
def _decoy_hash(ph: PasswordHasher) -> str:
    return ph.hash("not a password anyone has")


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if password matches; an unknown user costs the same time as a wrong password."""
    ph = hasher()
    try:
        return ph.verify(password_hash or _decoy_hash(ph), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)
