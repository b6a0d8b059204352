"""MIME documents written out directly (pure).

The documents rmbc sends have a fixed shape: a few headers and two parts. Built with the standard
library's `email` objects they took 2.7-2.9 ms each (header policies, content managers and the
generator), most of the notifier's CPU per flag. Here each part is base64 (safe through any relay,
any line length), lines end in CRLF as SMTP and MESH expect, and a header goes through the standard
policy's folding and RFC 2047 encoding only when it is not short plain ASCII. Any mail library
parses the result (the tests read every document back with the standard parser).
"""

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from email.policy import SMTP

MAX_PLAIN_HEADER = 78  # RFC 5322's recommended line length


@dataclass(frozen=True)
class Part:
    content_type: str  # with its parameters, e.g. 'text/html; charset="utf-8"'
    body: bytes
    filename: str | None = None  # set: an attachment


def header(name: str, value: str) -> bytes:
    if "\n" in value or "\r" in value:  # would start a header of its own
        raise ValueError(f"a line break in the {name} header")
    line = f"{name}: {value}"
    if len(line) <= MAX_PLAIN_HEADER and line.isascii():
        return line.encode() + b"\r\n"
    return SMTP.fold_binary(name, value)


def multipart(
    headers: Sequence[tuple[str, str]], subtype: str, parts: Sequence[Part], boundary: str
) -> bytes:
    """A whole message: `headers`, then `parts` as multipart/`subtype`, each base64-encoded.
    `boundary` must not occur in base64 text: give it a character outside that alphabet."""
    out = [header(name, value) for name, value in headers]
    out.append(b"MIME-Version: 1.0\r\n")
    out.append(f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode())
    delimiter = f"--{boundary}\r\n".encode()
    for part in parts:
        out.append(delimiter)
        out.append(f"Content-Type: {part.content_type}\r\n".encode())
        out.append(b"Content-Transfer-Encoding: base64\r\n")
        if part.filename is not None:
            out.append(header("Content-Disposition", f'attachment; filename="{part.filename}"'))
        out.append(b"\r\n")
        out.append(base64.encodebytes(part.body).replace(b"\n", b"\r\n"))
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)
