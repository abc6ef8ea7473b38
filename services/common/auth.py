"""Who is calling: password hashing, signed tokens, roles and object-level checks.

Roles: ``user`` acts on its own account only; ``admin`` may act for anyone and dump the
whole log; ``service`` (the workload replayer) may act for any user and dump the log.
The admin and service logins are not stored: their passwords come from the settings.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .config import Settings
from .errors import Conflict, Forbidden, Unauthorized
from .repositories import AccountRepository, CredentialRepository

USER, ADMIN, SERVICE = "user", "admin", "service"
RESERVED = {"admin": ADMIN, "replayer": SERVICE}
# Characters a reader takes for one another in a user id (A-Z a-z 0-9 _ -), mapped to
# one of them; separators vanish. "ADMIN", "Adm1n", "adrnin" and "ad_min" all read
# "admin" to a person, so none may be registered.
_LOOK_ALIKES = str.maketrans({"0": "o", "1": "l", "i": "l", "5": "s", "_": None, "-": None})


def skeleton(username: str) -> str:
    """What ``username`` looks like to a reader: lower case, look-alikes folded."""
    return username.lower().replace("rn", "m").replace("vv", "w").translate(_LOOK_ALIKES)


_RESERVED_SKELETONS = frozenset(skeleton(name) for name in RESERVED)


def is_reserved(username: str) -> bool:
    """Whether ``username`` is, or reads like, the admin or the service login."""
    return skeleton(username) in _RESERVED_SKELETONS


_ALGORITHM = "HS256"
VERIFIED_TOKENS = 4096  # verified tokens remembered per process
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    name: str
    role: str

    def may_act_for(self, user: str) -> bool:
        return self.role in (ADMIN, SERVICE) or self.name == user

    def require_act_for(self, user: str) -> None:
        """Raise Forbidden unless the caller may act on ``user``'s account."""
        if not self.may_act_for(user):
            raise Forbidden(f"{self.name} may not act for {user}")

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"this needs the {' or '.join(roles)} role")


class Authenticator:
    """Registers users, checks passwords and issues and verifies tokens."""

    def __init__(
        self,
        settings: Settings,
        credentials: CredentialRepository,
        accounts: AccountRepository,
    ):
        self._settings = settings
        self._credentials = credentials
        self._accounts = accounts
        self._secret = settings.jwt_secret.get_secret_value()
        # Tokens this process verified, until they expire: a client sends the same token
        # with every request, and checking it again cost ~0.3 ms of CPU each time.
        self._verified: dict[str, tuple[Principal, float]] = {}

    def register(self, username: str, password: str) -> None:
        """Create a login. Raises Conflict when the name is reserved or taken.

        A trading account created by a workload's ADD has no login; it may not be
        claimed by registering its name. Nor may any name that reads like a reserved
        one, in any case (``is_reserved``).
        """
        if is_reserved(username) or self._accounts.exists(username):
            raise Conflict(f"username {username} is taken")
        if not self._credentials.add(username, _hasher.hash(password), USER):
            raise Conflict(f"username {username} is taken")

    def login(self, username: str, password: str) -> dict:
        """Check the password and return a token; Unauthorized on any mismatch.

        The service credential does not sign in here (see ``service_login``).
        """
        role = (
            None if RESERVED.get(username) == SERVICE else self._check_password(username, password)
        )
        if role is None:
            raise Unauthorized("wrong username or password")
        return self._token(username, role)

    def service_login(self, username: str, password: str) -> dict:
        """The service credential's own sign-in, on a path NGINX exposes only to the
        operator's network: a token for the service role; Unauthorized otherwise."""
        if RESERVED.get(username) != SERVICE or self._check_password(username, password) is None:
            raise Unauthorized("wrong username or password")
        return self._token(username, SERVICE)

    def _token(self, username: str, role: str) -> dict:
        now = int(time.time())
        expires = now + self._settings.token_ttl_s
        token = jwt.encode(
            {"sub": username, "role": role, "iat": now, "exp": expires},
            self._secret,
            algorithm=_ALGORITHM,
        )
        return {"token": token, "username": username, "role": role, "expires_at": expires}

    def _check_password(self, username: str, password: str) -> str | None:
        if username in RESERVED:
            role = RESERVED[username]
            secret = (
                self._settings.admin_password if role == ADMIN else self._settings.service_password
            )
            ok = hmac.compare_digest(password.encode(), secret.get_secret_value().encode())
            return role if ok else None
        stored = self._credentials.get(username)
        if stored is None:
            _hasher.hash(password)  # same cost as a real check: no user-enumeration timing
            return None
        try:
            _hasher.verify(stored["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        return stored["role"]

    def verify(self, authorization: str | None) -> Principal:
        """The principal behind an ``Authorization: Bearer`` header, or Unauthorized."""
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("missing bearer token; log in first")
        token = authorization[len("Bearer ") :]
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                options={"require": ["sub", "role", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired; log in again") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("invalid token") from exc
        caller = Principal(claims["sub"], claims["role"])
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()  # bounded; the busy clients' tokens come back at once
        self._verified[token] = (caller, float(claims["exp"]))
        return caller
