"""Who is signed in, what they may do, and the CSRF check of every form post.

Sign-in reuses the Management API's :class:`TokenAuthenticator` (the same tokens and scopes, no
second user database). A session names its token; each request checks that the token is still
active (a revoked token ends every session at once), that the session was not signed out (in
any process: sign-outs are in the log) and takes the scopes from the token as it is now.
Handlers call :func:`signed_in` (pages) or :func:`posted` (form posts: session, CSRF and the
parsed form in one call, so a post handler cannot forget the CSRF check).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import attrs
from litestar import Request
from litestar.datastructures import FormMultiDict

from adapters.admin.sessions import COOKIE, MAX_AGE_SECONDS, AdminSession, SessionKeys
from adapters.http.context import api_context
from adapters.http.limits import SignInLimit
from eventstore.console import EndedSessions

STATE_KEY: Final = "parako_admin"
CSRF_FIELD: Final = "_csrf"
CSRF_HEADER: Final = "x-csrf-token"
#: how long a sign-out is remembered: longer than a cookie lives, with room for clock skew
_SIGN_OUTS_KEPT: Final = timedelta(seconds=MAX_AGE_SECONDS + 3600)

Req = Request[Any, Any, Any]


class NotSignedIn(Exception):
    """No valid session: pages answer with a redirect to the sign-in form."""


class Forbidden(Exception):
    """Signed in, but the token lacks the scope, or the post lacks its CSRF token."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.define
class AdminState:
    """Built once per application, on first use, from the API's context."""

    keys: SessionKeys
    logins: SignInLimit
    #: None in file mode: no log, no sessions
    ended: EndedSessions | None


def admin_state(request: Req) -> AdminState:
    state = request.app.state.get(STATE_KEY)
    if state is None:
        service = api_context(request).service
        state = AdminState(
            keys=(
                SessionKeys(service.cookie_key)
                if service.cookie_key is not None
                else SessionKeys.from_environ(service.sources.bootstrap.environ)
            ),
            logins=SignInLimit(service),
            ended=None if service.file_mode else EndedSessions(service.event_log, _SIGN_OUTS_KEPT),
        )
        request.app.state[STATE_KEY] = state
    assert isinstance(state, AdminState)
    return state


async def current_session(request: Req) -> AdminSession | None:
    """The session of this request with the token's current scopes, or None."""
    session = admin_state(request).keys.read(request.cookies.get(COOKIE))
    if session is None:
        return None
    ended = admin_state(request).ended
    if ended is None or await ended.ended(session.id):
        return None
    token = await api_context(request).authenticator.active(session.token_name)
    if token is None or not token.digest.startswith(session.digest_prefix):
        return None  # revoked, or revoked and created again: a new token, a new sign-in
    return attrs.evolve(session, scopes=token.scopes)


async def signed_in(request: Req, scope: str | None = None) -> AdminSession:
    session = await current_session(request)
    if session is None:
        raise NotSignedIn()
    request.state["admin_session"] = session  # error pages show the navigation too
    if scope is not None and not session.can(scope):
        raise Forbidden(f"Your token lacks the scope {scope} needed here.")
    return session


async def posted(request: Req, scope: str | None = None) -> tuple[AdminSession, FormMultiDict]:
    """The session and the form of a post, after the CSRF check (header or ``_csrf`` field)."""
    session = await signed_in(request, scope)
    form = await request.form()
    presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not admin_state(request).keys.csrf_ok(session.nonce, presented):
        raise Forbidden("This form has no valid CSRF token. Reload the page and try again.")
    return session, form
