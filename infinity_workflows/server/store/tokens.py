"""Tokens and the portal's login sessions, as rows of the :class:`~.database.Database`.

Tokens are stored as SHA-256 hashes, so a copied database reveals none. A token's
``generators`` column is its grant: NULL for every generator the server runs (including ones
installed later), else a JSON list of the names it may use (possibly empty). A revoked token
keeps its row (its batches still point at it) with ``revoked`` set: it then authenticates
nothing, and its result links stop working. Portal sessions are random ids, stored as hashes
too, that stand for a live token until they expire.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import timedelta

from ..rows import TokenRow, hash_token, utc_now, utc_text
from .database import Database
from .job_queue import cancel_where

__all__ = ["PortalSessions", "Tokens"]


def _grant(generators: Iterable[str] | None) -> str | None:
    return None if generators is None else json.dumps(sorted(set(generators)))


class Tokens:
    """Making, checking, granting and revoking API tokens."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, name: str, generators: Iterable[str] | None = None) -> str:
        """Make a token, store only its hash, and return the token (shown once).

        ``generators``: the names the token may use; None grants every generator, an empty
        list none.
        """
        token = secrets.token_urlsafe(32)
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO tokens (name, token_hash, created, generators) VALUES (?, ?, ?, ?)",
                (name, hash_token(token), utc_text(utc_now()), _grant(generators)))
        return token

    def count(self) -> int:
        return self._db.conn.execute("SELECT COUNT(*) FROM tokens").fetchone()[0]

    def all(self) -> list[TokenRow]:
        """Every token, revoked ones too."""
        rows = self._db.conn.execute(
            "SELECT id, name, created, generators, revoked FROM tokens ORDER BY id").fetchall()
        return [TokenRow(i, name, created, None if grant is None else json.loads(grant),
                         revoked) for i, name, created, grant, revoked in rows]

    def revoke(self, token_id: int) -> bool:
        """Revoke a live token and cancel its unfinished jobs in the same transaction (a
        leaked token's work must not go on); False when there is no such live token."""
        with self._db.write() as conn:
            changed = conn.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (utc_text(utc_now()), token_id)).rowcount
            if changed:
                cancel_where(conn, "token_id = ?", (token_id,),
                             "cancelled: its token was revoked")
        return changed == 1

    def set_generators(self, token_id: int, generators: Iterable[str] | None) -> bool:
        """Replace a live token's grant (None: every generator); False when no such token."""
        with self._db.write() as conn:
            changed = conn.execute(
                "UPDATE tokens SET generators = ? WHERE id = ? AND revoked IS NULL",
                (_grant(generators), token_id)).rowcount
        return changed == 1

    def id_for(self, token: str) -> int | None:
        """The live token's id; None for an unknown or revoked token."""
        row = self._db.conn.execute(
            "SELECT id FROM tokens WHERE token_hash = ? AND revoked IS NULL",
            (hash_token(token),)).fetchone()
        return row[0] if row else None

    def generators(self, token_id: int) -> frozenset[str] | None:
        """The generator names this token may use; None when it may use every generator."""
        row = self._db.conn.execute("SELECT generators FROM tokens WHERE id = ?",
                                    (token_id,)).fetchone()
        if row is None:
            return frozenset()  # an unknown token may use nothing
        return None if row[0] is None else frozenset(json.loads(row[0]))

    def name(self, token_id: int) -> str | None:
        row = self._db.conn.execute("SELECT name FROM tokens WHERE id = ?",
                                    (token_id,)).fetchone()
        return row[0] if row else None


class PortalSessions:
    """The portal's login sessions: each stands for one live token until it expires."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, token_id: int, ttl_seconds: float) -> str:
        """A new random session id for a live token (stored only as a hash); expired
        sessions are dropped on the way."""
        session = secrets.token_urlsafe(32)
        now = utc_now()
        with self._db.write() as conn:
            conn.execute("DELETE FROM portal_sessions WHERE expires < ?", (utc_text(now),))
            conn.execute(
                "INSERT INTO portal_sessions (id_hash, token_id, created, expires) "
                "VALUES (?, ?, ?, ?)",
                (hash_token(session), token_id, utc_text(now),
                 utc_text(now + timedelta(seconds=ttl_seconds))))
        return session

    def token_id(self, session: str) -> int | None:
        """The token a current session stands for; None once it expired, was ended, or its
        token was revoked."""
        row = self._db.conn.execute(
            "SELECT s.token_id FROM portal_sessions s JOIN tokens t ON t.id = s.token_id "
            "WHERE s.id_hash = ? AND s.expires > ? AND t.revoked IS NULL",
            (hash_token(session), utc_text(utc_now()))).fetchone()
        return row[0] if row else None

    def end(self, session: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM portal_sessions WHERE id_hash = ?",
                         (hash_token(session),))
