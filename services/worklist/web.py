"""The worklist's pages: server-rendered HTML in the NHS design system, usable without JavaScript.

Every page needs a signed-in user and shows only their trusts' items; items are addressed by an
opaque id, and no patient identifier is ever in a URL or a log line. Forms carry a CSRF token
bound to the session. A review is said to be saved only after Kafka acknowledged it.
"""

import logging
import secrets
from pathlib import Path
from typing import Any, get_args

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from services.worklist.desk import Desk
from services.worklist.identity import ClaimRules, NotSignedIn, user_from_claims
from services.worklist.items import ITEM_STATES, STATE_WORDS, WorklistItem
from services.worklist.oidc import OidcClient, SignInFailed, SignInStart
from services.worklist.outcomes import prometheus_text
from services.worklist.publisher import NotStored
from services.worklist.reviews import (
    ACTION_WORDS,
    ACTIONS_BY_ROLE,
    METASTATIC_SITES,
    RECURRENCE_TYPES,
    Refused,
    User,
)
from services.worklist.settings import WorklistSettings
from services.worklist.words import evidence_lines, finding, site_words
from shared.events import ReviewAction

log = logging.getLogger("services.worklist.web")
TEMPLATES = Path(__file__).parent / "templates"
ACTIONS: tuple[str, ...] = get_args(ReviewAction)
NOT_STORED = (
    "not saved: Kafka did not confirm it stored your action. It may not have been recorded; "
    "reload the page to see whether it was, then act again if it was not"
)
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self' "
    "{issuer}",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class SecurityHeaders:
    """The same protective headers on every response (no caching of patient pages)."""

    def __init__(self, app: ASGIApp, issuer: str) -> None:
        self.app = app
        self.headers = [
            (k.encode(), v.format(issuer=issuer).encode()) for k, v in SECURITY_HEADERS.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.headers
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def create_app(settings: WorklistSettings, desk: Desk, oidc: OidcClient) -> Starlette:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals.update(
        state_words=STATE_WORDS,
        action_words=ACTION_WORDS,
        recurrence_types=RECURRENCE_TYPES,
        metastatic_sites=METASTATIC_SITES,
        site_words=site_words,
        finding=finding,
        evidence_lines=evidence_lines,
    )
    rules = ClaimRules(
        role_claim=settings.role_claim,
        trust_claim=settings.trust_claim,
        role_values={
            settings.cns_role: "cns",
            settings.mdt_role: "mdt_coordinator",
            settings.read_only_role: "read_only",
        },
    )

    def page(
        request: Request, name: str, user: User, status: int = 200, **context: Any
    ) -> Response:
        return templates.TemplateResponse(
            request,
            name,
            {"user": user, "csrf": request.session["csrf"], "desk": desk, **context},
            status_code=status,
        )

    async def worklist(request: Request) -> Response:
        user = _user(request)
        if user is None:
            return _sign_in_first()
        state = request.query_params.get("state") or None
        trust = request.query_params.get("trust") or None
        chosen_state = next((s for s in ITEM_STATES if s == state), None)
        items = desk.items(user, chosen_state, trust if trust in user.trusts else None)
        return page(
            request, "list.html", user, items=items, states=ITEM_STATES, state=chosen_state,
            trust=trust,
        )  # fmt: skip

    async def item_page(request: Request) -> Response:
        user = _user(request)
        if user is None:
            return _sign_in_first()
        item = desk.item(request.path_params["ref"], user)
        if item is None:
            return page(request, "missing.html", user, status=404)
        saved = request.session.pop("saved", None)
        return page(request, "item.html", user, item=item, saved=saved, **_actions(user, item))

    async def act(request: Request) -> Response:
        user = _user(request)
        if user is None:
            return _sign_in_first()
        form = await request.form()
        if not secrets.compare_digest(str(form.get("csrf_token", "")), request.session["csrf"]):
            return PlainTextResponse("The form has expired; go back and reload the page.", 403)
        item = desk.item(request.path_params["ref"], user)
        action = request.path_params["action"]
        if item is None or action not in ACTIONS:
            return page(request, "missing.html", user, status=404)
        values = {key: [str(v) for v in form.getlist(key)] for key in form}
        try:
            seen_revision = int(str(form.get("seen_revision", "")))
        except ValueError:
            seen_revision = 0  # no revision shown: refused as a finding the user did not see
        try:
            result = await desk.act(
                item,
                action,
                values,
                user,
                seen_review_id=str(form.get("seen_review_id", "")) or None,
                seen_revision=seen_revision,
            )
        except NotStored as error:
            log.error("review not stored", extra={"action": action, "error": str(error)})
            result, status = Refused(NOT_STORED), 503
        else:
            status = 409 if isinstance(result, Refused) and result.conflict else 422
        if isinstance(result, Refused):
            log.info("review refused", extra={"action": action, "status": status})
            return page(
                request, "item.html", user, status=status, item=item, refused=result,
                form=values, failed_action=action, **_actions(user, item),
            )  # fmt: skip
        log.info("review saved", extra={"action": action, "review_id": result.review_id})
        request.session["saved"] = ACTION_WORDS[result.action]
        return RedirectResponse(f"/items/{desk.ref(item)}", status_code=303)

    async def outcomes_page(request: Request) -> Response:
        user = _user(request)
        if user is None:
            return _sign_in_first()
        return page(request, "outcomes.html", user, figures=desk.outcomes(user))

    async def metrics(request: Request) -> Response:
        items = desk.worklist.items.values()
        trusts = sorted({i.trust_ods for i in items if i.known and i.trust_ods})
        text = "".join(prometheus_text(desk.outcomes(_reader(t)), t) for t in trusts if t)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def sign_in(request: Request) -> Response:
        start = await oidc.begin(settings.redirect_uri)
        request.session["sign_in"] = {
            "state": start.state, "nonce": start.nonce, "verifier": start.verifier,
        }  # fmt: skip
        return RedirectResponse(start.url, status_code=303)

    async def callback(request: Request) -> Response:
        pending = request.session.pop("sign_in", None)
        state = request.query_params.get("state", "")
        code = request.query_params.get("code")
        if not pending or not code or not secrets.compare_digest(state, pending["state"]):
            return PlainTextResponse("Sign-in expired or was not started here; try again.", 400)
        try:
            claims = await oidc.finish(code, SignInStart("", **pending), settings.redirect_uri)
            user = user_from_claims(claims, rules)
        except (SignInFailed, NotSignedIn) as error:
            log.warning("sign-in refused", extra={"reason": str(error)})
            return PlainTextResponse(f"Sign-in refused: {error}", 403)
        request.session.clear()
        request.session["user"] = {
            "subject": user.subject, "issuer": user.issuer, "name": user.name,
            "role": user.role, "trusts": list(user.trusts),
        }  # fmt: skip
        request.session["csrf"] = secrets.token_urlsafe(32)
        log.info("signed in", extra={"role": user.role})
        return RedirectResponse("/", status_code=303)

    async def sign_out(request: Request) -> Response:
        form = await request.form()
        if secrets.compare_digest(str(form.get("csrf_token", "")), request.session.get("csrf", "")):
            request.session.clear()
        return RedirectResponse("/signed-out", status_code=303)

    async def signed_out(request: Request) -> Response:
        return templates.TemplateResponse(request, "signed_out.html", {"user": None})

    dist = settings.nhsuk_dist / "nhsuk"
    return Starlette(
        routes=[
            Route("/", worklist),
            Route("/items/{ref}", item_page),
            Route("/items/{ref}/{action}", act, methods=["POST"]),
            Route("/outcomes", outcomes_page),
            Route("/metrics", metrics),
            Route("/healthz", healthz),
            Route("/auth/login", sign_in),
            Route("/auth/callback", callback),
            Route("/auth/logout", sign_out, methods=["POST"]),
            Route("/signed-out", signed_out),
            Mount("/nhsuk", StaticFiles(directory=str(dist))),
            Mount("/assets", StaticFiles(directory=str(dist / "assets"))),  # the CSS's url()s
        ],
        middleware=[
            Middleware(SecurityHeaders, issuer=oidc.issuer),
            Middleware(
                SessionMiddleware,
                secret_key=settings.session_secret.get_secret_value(),
                session_cookie="rmbc_worklist",
                max_age=int(settings.session_hours * 3600),
                same_site="lax",
                https_only=settings.cookie_secure,
            ),
        ],
    )


def _user(request: Request) -> User | None:
    raw = request.session.get("user")
    if not raw or "csrf" not in request.session:
        return None
    return User(
        subject=raw["subject"],
        issuer=raw["issuer"],
        name=raw["name"],
        role=raw["role"],
        trusts=tuple(raw["trusts"]),
    )


def _reader(trust: str) -> User:
    """Who the figures of /metrics are counted for: one trust, read only."""
    return User("metrics", "rmbc", "metrics", "read_only", (trust,))


def _sign_in_first() -> Response:
    return RedirectResponse("/auth/login", status_code=303)


def _actions(user: User, item: WorklistItem) -> dict[str, Any]:
    allowed = ACTIONS_BY_ROLE[user.role] if item.state != "closed" else ()
    return {"allowed": allowed}
