"""What a runtime client reports: a refused token, a server it cannot reach, an answer it
cannot use. Each message says what to do about it."""

from __future__ import annotations


class RuntimeClientError(Exception):
    """The client cannot go on (its follower has stopped); the message says why."""


class AccessDenied(RuntimeClientError):
    """The server refused the token: unknown, revoked (401), or without the runtime scope
    (403). Retrying cannot help, so the client stops instead."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        if status == 401:
            advice = (
                "the token is unknown or was revoked; create one with "
                "`parako-config token create NAME --scope parako:config:runtime`"
            )
        else:
            advice = "the token needs the scope parako:config:runtime"
        super().__init__(f"the runtime API refused the token ({status}: {message}): {advice}")


class Unavailable(RuntimeClientError):
    """No usable answer from the server before the start timeout passed."""
