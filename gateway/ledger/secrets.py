"""Service passwords and ID numbers are kept only as salted, slow hashes (PBKDF2-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

ITERATIONS = 120_000


def hash_secret(secret: str, *, iterations: int = ITERATIONS) -> str:
    """``'pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>'``; a new random salt every time."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    scheme, iterations, salt, digest = stored.split("$")
    if scheme != "pbkdf2_sha256":
        raise ValueError(f"unknown hash scheme {scheme!r}")
    candidate = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(candidate.hex(), digest)
