"""A small, strict reader of HL7 v2 ER7 text: segments, fields, repetitions, components.

python-hl7 nests its containers differently depending on whether a field has repetitions or
components; mapping code is easier to trust with one predictable shape. Pure: no I/O.
"""

from dataclasses import dataclass

SEGMENT_SEPARATOR = "\r"


class MalformedMessage(ValueError):
    """The text is not an HL7 v2 message this reader can split (no readable MSH)."""


@dataclass(frozen=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent


@dataclass(frozen=True)
class Segment:
    name: str
    fields: tuple[str, ...]  # fields[n] is field n (for MSH, fields[1] is the field separator)
    sequence: int  # 1 for the first segment of this name in the message, then 2, ...
    delimiters: Delimiters

    def raw(self, number: int) -> str:
        return self.fields[number] if number < len(self.fields) else ""

    def repetitions(self, number: int) -> list[list[str]]:
        """Field `number` as repetitions of unescaped components; [] when empty."""
        raw = self.raw(number)
        if not raw:
            return []
        d = self.delimiters
        return [
            [unescape(c, d) for c in repetition.split(d.component)]
            for repetition in raw.split(d.repetition)
            if repetition
        ]

    def component(self, number: int, component: int = 1, repetition: int = 1) -> str:
        """One unescaped component (1-based), '' when absent."""
        repetitions = self.repetitions(number)
        if len(repetitions) < repetition:
            return ""
        components = repetitions[repetition - 1]
        return components[component - 1].strip() if len(components) >= component else ""

    def location(self, field: int | None = None) -> str:
        """An HL7 ERL for ERR-2, e.g. `PID^1^3`."""
        return f"{self.name}^{self.sequence}" + (f"^{field}" if field is not None else "")


@dataclass(frozen=True)
class Message:
    segments: tuple[Segment, ...]
    delimiters: Delimiters

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)


def normalise_line_endings(text: str) -> str:
    """Senders and files use `\\r\\n` or `\\n`; HL7 separates segments with `\\r` only."""
    return text.replace("\r\n", "\r").replace("\n", "\r")


def parse_message(text: str) -> Message:
    lines = [line for line in normalise_line_endings(text).split(SEGMENT_SEPARATOR) if line.strip()]
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        raise MalformedMessage("the message does not start with an MSH segment")
    header = lines[0]
    d = Delimiters(
        field=header[3],
        component=header[4],
        repetition=header[5],
        escape=header[6],
        subcomponent=header[7] if header[7] != header[3] else "&",
    )
    if len({d.field, d.component, d.repetition, d.escape}) < 4 or d.field.isalnum():
        raise MalformedMessage("MSH-1/MSH-2 do not declare distinct delimiters")
    counts: dict[str, int] = {}
    segments: list[Segment] = []
    for line in lines:
        parts = line.split(d.field)
        name = parts[0].strip()
        if len(name) != 3 or not name.isalnum():
            raise MalformedMessage(f"segment {len(segments) + 1} has no valid segment id")
        # MSH-1 is the field separator itself, so MSH field numbers shift by one
        fields = ("MSH", d.field, *parts[1:]) if name == "MSH" else tuple(parts)
        counts[name] = counts.get(name, 0) + 1
        segments.append(Segment(name, fields, counts[name], d))
    if counts["MSH"] != 1:
        raise MalformedMessage(
            "more than one MSH segment in one message (batch files go one by one)"
        )
    return Message(tuple(segments), d)


_ESCAPES = {"F": "field", "S": "component", "R": "repetition", "E": "escape", "T": "subcomponent"}


def unescape(value: str, d: Delimiters) -> str:
    if d.escape not in value:
        return value
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        end = value.find(d.escape, i + 1) if char == d.escape else -1
        if end == -1:
            out.append(char)
            i += 1
            continue
        token = value[i + 1 : end]
        if token in _ESCAPES:
            out.append(getattr(d, _ESCAPES[token]))
        elif token.startswith("X") and len(token) % 2 == 1:
            try:
                out.append(bytes.fromhex(token[1:]).decode("latin-1"))
            except ValueError:
                out.append(value[i : end + 1])
        elif token in (".br", "H", "N"):
            out.append("\n" if token == ".br" else "")
        else:
            out.append(value[i : end + 1])
        i = end + 1
    return "".join(out)


_LINE_BREAKS = "\r\n\x85\u2028\u2029"


def escape(value: str, d: Delimiters = Delimiters()) -> str:
    """Make free text safe to put in one component of an outgoing message: delimiters as their
    escape sequences, line breaks as spaces, and every other control character (MLLP's 0x0B and
    0x1C among them) as hexadecimal data `\\Xhh\\` (HL7 v2.5.1 section 2.7.4)."""
    out = []
    for char in value:
        if char == d.escape:
            out.append(f"{d.escape}E{d.escape}")
        elif char == d.field:
            out.append(f"{d.escape}F{d.escape}")
        elif char == d.component:
            out.append(f"{d.escape}S{d.escape}")
        elif char == d.repetition:
            out.append(f"{d.escape}R{d.escape}")
        elif char == d.subcomponent:
            out.append(f"{d.escape}T{d.escape}")
        elif char in _LINE_BREAKS:
            out.append(" ")
        elif char < " " or char == "\x7f":
            out.append(f"{d.escape}X{ord(char):02X}{d.escape}")
        else:
            out.append(char)
    return "".join(out)
