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

# Every character Python's `str.splitlines` breaks a line at (its documentation lists them). The
# `email` package splits header text with `splitlines` when it parses and folds, so any of them in a
# value could end the header there and start another: CR and LF, VT and FF, the file, group and
# record separators, NEL (U+0085) and the Unicode line and paragraph separators (U+2028, U+2029).
LINE_SEPARATORS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


@dataclass(frozen=True)
class Part:
    content_type: str  # with its parameters, e.g. 'text/html; charset="utf-8"'
    body: bytes
    filename: str | None = None  # set: an attachment


def header(name: str, value: str) -> bytes:
    """One header line (folded when long or not ASCII); a value with a line separator is refused,
    since it would start a header of its own."""
    if not LINE_SEPARATORS.isdisjoint(value):
        separator = next(c for c in value if c in LINE_SEPARATORS)
        raise ValueError(f"a line break (U+{ord(separator):04X}) in the {name} header")
    line = f"{name}: {value}"
    if len(line) <= MAX_PLAIN_HEADER and line.isascii():
        return line.encode() + b"\r\n"
    # Parsed into the policy's header object first, as `EmailMessage` does: `fold_binary` on a plain
    # string passes a short non-ASCII value through unencoded (and then fails to write it as ASCII).
    folded: str = SMTP.header_factory(name, value).fold(policy=SMTP)
    return folded.encode("ascii")


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
