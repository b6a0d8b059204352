"""A small read-only web page of the e-mails the local SMTP sink received: the CNS alerts of a
trial stack (`rmbc up`), readable in a browser. Loopback only; GET only; every value escaped."""

import html
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from services.broker import free_port


def _parsed(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def index_page(spool: Path) -> str:
    rows = []
    for path in sorted(spool.glob("*.eml"), reverse=True):
        mail = _parsed(path)
        cells = [str(mail.get(h, "")) for h in ("Date", "To", "Subject")]
        link = f'<a href="/mail/{html.escape(path.stem)}">{html.escape(cells[2] or "(none)")}</a>'
        rows.append(
            f"<tr><td>{html.escape(cells[0])}</td><td>{html.escape(cells[1])}</td>"
            f"<td>{link}</td></tr>"
        )
    body = "".join(rows) or '<tr><td colspan="3">no mail yet</td></tr>'
    return _page(
        f"rmbc: e-mails received ({len(rows)})",
        '<table border="1" cellpadding="4"><tr><th>Date</th><th>To</th><th>Subject</th></tr>'
        f"{body}</table>",
    )


def mail_page(path: Path) -> str:
    mail = _parsed(path)
    headers = "".join(
        f"<b>{html.escape(name)}:</b> {html.escape(str(value))}<br>"
        for name, value in mail.items()
        if name in ("From", "To", "Date", "Subject", "Message-ID")
    )
    part = mail.get_body(preferencelist=("plain", "html"))
    text = part.get_content() if part is not None else ""
    return _page(
        str(mail.get("Subject", "")),
        f'<p><a href="/">all e-mails</a></p><p>{headers}</p><pre>{html.escape(text)}</pre>',
    )


def _page(title: str, content: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )


class MailPage:
    """Serves `spool` (one .eml file per mail, as SmtpSink writes them) at http://127.0.0.1:port/."""

    def __init__(self, spool: Path, port: int | None = None) -> None:
        self.spool = spool
        self.port = port or free_port()
        spool_dir = spool

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/":
                    self._send(index_page(spool_dir))
                    return
                stem = self.path.removeprefix("/mail/")
                found = spool_dir / f"{stem}.eml"
                if self.path.startswith("/mail/") and stem.isdigit() and found.exists():
                    self._send(mail_page(found))
                    return
                self.send_error(HTTPStatus.NOT_FOUND)

            def _send(self, page: str) -> None:
                body = page.encode()
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # a request line names no patient, but the stack's output stays readable

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> "MailPage":
        self.spool.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
