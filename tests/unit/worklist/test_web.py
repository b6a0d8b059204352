"""The web shell with a provider stand-in: what the cookie and headers say, and that a sign-in
answer not started here, or a token for a person without a role, lets no one in."""

from datetime import timedelta
from typing import Any

from starlette.testclient import TestClient

from services.worklist.desk import Desk
from services.worklist.oidc import SignInStart
from services.worklist.settings import WorklistSettings
from services.worklist.web import create_app
from tests.support.worklist_events import T0

SECRET = "s" * 32


class Provider:
    """Answers as an OIDC provider would after a person signed in with `claims`."""

    issuer = "https://idp.example"

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims

    async def begin(self, redirect_uri: str) -> SignInStart:
        return SignInStart(f"{self.issuer}/auth?state=st", "st", "nonce", "verifier")

    async def finish(self, code: str, start: SignInStart, redirect_uri: str) -> dict[str, Any]:
        return self.claims


class NoSink:
    async def publish(self, review: object) -> None:
        raise AssertionError("nothing is published in these tests")


def _client(claims: dict[str, Any], cookie_secure: bool = True) -> TestClient:
    settings = WorklistSettings(
        oidc_issuer=Provider.issuer,
        oidc_client_id="rmbc-worklist",
        oidc_client_secret=SECRET,
        session_secret=SECRET,
        cookie_secure=cookie_secure,
    )
    desk = Desk(b"k" * 32, NoSink(), lambda at: at + timedelta(days=2), lambda: T0, lambda: "id")
    app = create_app(settings, desk, Provider(claims))  # type: ignore[arg-type]
    return TestClient(app, base_url="https://worklist.example", follow_redirects=False)


def test_the_session_cookie_is_secure_http_only_and_same_site_lax() -> None:
    response = _client({}).get("/auth/login")
    assert response.status_code == 303
    assert response.headers["location"].startswith("https://idp.example/auth?")
    cookie = response.headers["set-cookie"].lower()
    assert "; secure" in cookie and "; httponly" in cookie and "samesite=lax" in cookie


def test_every_response_carries_the_protective_headers() -> None:
    response = _client({}).get("/healthz")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_a_sign_in_answer_with_another_state_is_refused() -> None:
    client = _client({"sub": "u", "iss": Provider.issuer, "rmbc_role": "cns", "rmbc_trust": "RX1"})
    client.get("/auth/login")
    answer = client.get("/auth/callback?code=c&state=forged")
    assert answer.status_code == 400
    assert client.get("/").headers["location"] == "/auth/login"


def test_a_person_without_a_worklist_role_is_not_signed_in() -> None:
    client = _client(
        {"sub": "u", "iss": Provider.issuer, "rmbc_role": "porter", "rmbc_trust": "RX1"}
    )
    client.get("/auth/login")
    answer = client.get("/auth/callback?code=c&state=st")
    assert answer.status_code == 403 and "no worklist role" in answer.text
    assert client.get("/").headers["location"] == "/auth/login"


def test_a_signed_in_cns_sees_the_worklist() -> None:
    client = _client({"sub": "u", "iss": Provider.issuer, "name": "Ann", "rmbc_role": "cns",
                      "rmbc_trust": "RX1"})  # fmt: skip
    client.get("/auth/login")
    assert client.get("/auth/callback?code=c&state=st").headers["location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and "Signed in as Ann (cns, RX1)" in page.text
