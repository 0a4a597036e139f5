"""MongoDB (PCRE2) regular expressions evaluated in linear time with RE2.

Decision: a ``$regex`` runs on RE2 (google-re2), whose matching time is linear in the subject,
so no pattern can make a query hang (``(a+)+$`` against ``"a" * 39 + "!"`` takes microseconds).
A pattern that needs a backtracking engine (backreferences, lookaround, atomic groups,
possessive quantifiers, recursion, conditionals, backtracking verbs) is refused with
:class:`InvalidQueryError` when the filter is compiled. We chose refusal over running a
backtracking engine under a time budget because a budget makes the answer depend on machine
load: the same query would succeed on an idle machine and fail on a busy one, and a slow
pattern would still burn its budget on every document. Refusal is deterministic, is decided
once per filter, and never gives a wrong answer; the MongoDB backend still runs such patterns.

RE2 and PCRE2 do not read every pattern alike, so the pattern is translated token by token
into an RE2 pattern with the same meaning, and anything whose meaning we cannot reproduce is
refused rather than approximated:

* ``\\s`` includes the vertical tab in PCRE2; ``\\v`` and ``\\h`` are whitespace classes (RE2
  reads ``\\v`` as the vertical tab character); ``\\e``, ``\\cX``, ``\\o{..}``, ``\\N``, octal
  and ``\\Q..\\E`` are rewritten; named groups become plain groups; ``(?#..)`` comments and
  the ``x`` (extended) flag are applied here because RE2 has no free-spacing mode.
* Without the ``m`` flag PCRE2's ``$`` (and always ``\\Z``) also matches before a final
  newline; RE2's ``$`` is ``\\z``. ``$`` becomes ``(?:\\n?\\z)``, which is exact when nothing
  but other such anchors follows it (the usual ``...$``); a ``$`` followed by more pattern is
  refused.
* With ``m``, PCRE2's ``^`` does not match after a newline that ends the subject; RE2's does.
  Such a ``^`` must be at the start of its branch (refused otherwise) and a match that RE2
  finds starting at the very end of a subject ending in a newline is re-checked without it.
* ``\\w``, ``\\d``, ``\\b`` and POSIX classes are ASCII-only in both engines (MongoDB does not
  enable UCP); ``(*UTF)``/``(*UTF8)`` are accepted and ignored, other ``(*VERBS)`` refused.

Cost: linear time is not cheap time. When RE2's DFA cannot hold a pattern's states it falls
back to simulating the program, at a few nanoseconds per instruction per character of text
(``(?:.?){1000}`` repeated 16 times with the ``i`` option: 144,005 instructions, about
0.4 ms per character). So each compiled pattern carries its RE2 program size as ``cost``
(case folding included: ``i`` enlarges the program), and :mod:`assetstore.query` refuses a
filter whose patterns cost too much in total, before it runs.

Options are MongoDB's: ``i``, ``m``, ``s``, ``x`` and ``u`` (accepted, redundant); any other
letter is an error, as are patterns longer than MongoDB's limit or containing a NUL byte.

Speed: a match first checks literal text the pattern requires (a prefix, a suffix before ``$``,
the longest run of plain characters), then calls RE2 through google-re2's low-level binding,
because its public wrapper builds a match object per call and is several times slower.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import re2

from assetstore.errors import InvalidQueryError

__all__ = ["MAX_PATTERN_LENGTH", "VALID_OPTIONS", "BoundedRegex", "check_options", "compile_regex"]

MAX_PATTERN_LENGTH: Final = 32764
VALID_OPTIONS: Final = frozenset("imsxu")
_MAX_GROUP_DEPTH: Final = 100

_UNANCHORED: Final = re2._re2.RE2.Anchor.UNANCHORED
_ANCHOR_BOTH: Final = re2._re2.RE2.Anchor.ANCHOR_BOTH

_SPACE_CHARS: Final = "\\t\\n\\x0b\\f\\r\\x20"
_HSPACE_CHARS: Final = (
    "\\t\\x20\\xa0\\x{1680}\\x{180e}\\x{2000}-\\x{200a}\\x{202f}\\x{205f}\\x{3000}"
)
_VSPACE_CHARS: Final = "\\n\\x0b\\f\\r\\x{85}\\x{2028}\\x{2029}"
# \s, \h and \v as RE2 class contents (their upper-case forms are the complements).
_SPACE_CLASSES: Final = {"s": _SPACE_CHARS, "h": _HSPACE_CHARS, "v": _VSPACE_CHARS}
_EXTENDED_SPACE: Final = frozenset(" \t\n\x0b\f\r\x85\u200e\u200f\u2028\u2029")
_POSIX_CLASSES: Final = frozenset(
    {
        *("alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph"),
        *("lower", "print", "punct", "space", "upper", "word", "xdigit"),
    }
)
_RE2_META: Final = frozenset("\\.+*?()|[]{}^$")
_SIMPLE_ESCAPES: Final = {"a": 0x07, "e": 0x1B, "f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09}
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_OCT: Final = frozenset("01234567")

# Markers in the translated output, replaced when the final RE2 patterns are assembled.
_CARET_M: Final = "\x00caret\x00"


def _refuse(pattern: str, why: str) -> InvalidQueryError:
    return InvalidQueryError(f"$regex {pattern!r}: {why}")


def _unsupported(pattern: str, what: str) -> InvalidQueryError:
    return _refuse(
        pattern,
        f"{what} needs a backtracking regex engine; the local query engine only runs "
        "patterns with a bounded (linear-time) cost, so this pattern is not supported here",
    )


def _char(code: int) -> str:
    """An RE2 escape for one code point (safe inside and outside a class)."""
    return f"\\x{{{code:x}}}"


def _literal(ch: str) -> str:
    if ch in _RE2_META or ch == "-":
        return "\\" + ch
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return _char(ord(ch))
    return ch


@dataclass
class _Node:
    """An item of the parsed pattern, for the anchor analysis and the literal prefilter."""

    kind: str  # "atom", "caret_m", "dollar", "zero", "start" (\A) or "group"
    branches: list[list[_Node]] = field(default_factory=list)
    quantified: bool = False
    literal: str | None = None  # the character an atom stands for, if it is a plain one


class _Translator:
    """A recursive-descent reader of a PCRE2 pattern that writes the RE2 equivalent."""

    def __init__(self, pattern: str, *, multiline: bool, extended: bool) -> None:
        self.p = pattern
        self.i = 0
        self.multiline = multiline
        self.extended = extended
        self.caseless = False  # an inline (?i) appears somewhere

    def error(self, why: str) -> InvalidQueryError:
        return _refuse(self.p, why)

    def translate(self) -> tuple[str, list[list[_Node]]]:
        p = self.p
        if p.startswith("(*UTF8)"):
            self.i = 7
        elif p.startswith("(*UTF)"):
            self.i = 6
        out, branches = self.alternation(depth=0)
        if self.i < len(p):
            raise self.error("unmatched ')'")
        return out, branches

    def alternation(self, depth: int) -> tuple[str, list[list[_Node]]]:
        if depth > _MAX_GROUP_DEPTH:
            raise self.error(f"groups nested deeper than {_MAX_GROUP_DEPTH}")
        saved = (self.multiline, self.extended)
        parts: list[str] = []
        branches: list[list[_Node]] = [[]]
        p = self.p
        while self.i < len(p):
            ch = p[self.i]
            if ch == ")":
                break
            if ch == "|":
                self.i += 1
                parts.append("|")
                branches.append([])
                continue
            if self.extended and self.skip_extended_space():
                continue
            text, node = self.item(depth)
            if node is None:
                parts.append(text)
                continue
            quantifier = self.quantifier()
            if quantifier:
                if node.kind != "atom" and node.kind != "group":
                    raise self.error("a quantifier must follow a repeatable item")
                node.quantified = True
                text = (text if len(text) == 1 else f"(?:{text})") + quantifier
            parts.append(text)
            branches[-1].append(node)
        self.multiline, self.extended = saved
        return "".join(parts), branches

    def skip_extended_space(self) -> bool:
        p = self.p
        ch = p[self.i]
        if ch in _EXTENDED_SPACE:
            self.i += 1
            return True
        if ch == "#":
            end = p.find("\n", self.i)
            self.i = len(p) if end < 0 else end + 1
            return True
        return False

    def quantifier(self) -> str:
        p = self.p
        if self.extended:
            while self.i < len(p) and (p[self.i] in _EXTENDED_SPACE or p[self.i] == "#"):
                self.skip_extended_space()
        if self.i >= len(p):
            return ""
        ch = p[self.i]
        if ch in "*+?":
            q = ch
            self.i += 1
        elif ch == "{":
            j = self.i + 1
            while j < len(p) and p[j].isdigit() and p[j].isascii():
                j += 1
            if j == self.i + 1:
                return ""
            if j < len(p) and p[j] == ",":
                j += 1
                while j < len(p) and p[j].isdigit() and p[j].isascii():
                    j += 1
            if j >= len(p) or p[j] != "}":
                return ""
            q = p[self.i : j + 1]
            self.i = j + 1
        else:
            return ""
        if self.i < len(p) and p[self.i] == "+":
            raise _unsupported(self.p, "a possessive quantifier")
        if self.i < len(p) and p[self.i] == "?":
            q += "?"
            self.i += 1
        return q

    def item(self, depth: int) -> tuple[str, _Node | None]:
        p = self.p
        ch = p[self.i]
        if ch == "\\":
            return self.escape()
        if ch == "[":
            return self.char_class(), _Node("atom")
        if ch == "(":
            return self.group(depth)
        self.i += 1
        if ch == ".":
            return ".", _Node("atom")
        if ch == "^":
            if self.multiline:
                return _CARET_M, _Node("caret_m")
            return "\\A", _Node("start")
        if ch == "$":
            if self.multiline:
                return "(?m:$)", _Node("zero")
            return "(?:\\n?\\z)", _Node("dollar")
        if ch in "*+?":
            raise self.error("a quantifier must follow a repeatable item")
        return _literal(ch), _Node("atom", literal=ch)

    def escape(self) -> tuple[str, _Node | None]:
        p = self.p
        if self.i + 1 >= len(p):
            raise self.error("'\\' at end of pattern")
        ch = p[self.i + 1]
        self.i += 2
        if ch in "dDwW":
            return "\\" + ch, _Node("atom")
        if ch in _SPACE_CLASSES:
            return f"[{_SPACE_CLASSES[ch]}]", _Node("atom")
        if ch.lower() in _SPACE_CLASSES:
            return f"[^{_SPACE_CLASSES[ch.lower()]}]", _Node("atom")
        if ch == "N":
            if self.i < len(p) and p[self.i] == "{":
                raise self.error("\\N{...} is not supported")
            return "[^\\n]", _Node("atom")
        if ch in "bB":
            return "\\" + ch, _Node("zero")
        if ch in "AG":
            return "\\A", _Node("start")
        if ch == "z":
            return "\\z", _Node("zero")
        if ch == "Z":
            return "(?:\\n?\\z)", _Node("dollar")
        if ch == "Q":
            text = "".join(_literal(c) for c in self.quoted())
            if not text:
                return "", None
            return f"(?:{text})", _Node("atom")
        if ch == "E":
            return "", None
        if ch in "pP":
            return self.property(ch), _Node("atom")
        if ch in "123456789gk":
            raise _unsupported(self.p, "a backreference")
        if ch in "KXCR":
            raise _unsupported(self.p, f"\\{ch}")
        code = self.char_escape(ch)
        return _char(code), _Node("atom", literal=chr(code))

    def char_escape(self, ch: str) -> int:
        """The code point of a single-character escape (after the backslash and ``ch``)."""
        p = self.p
        if ch in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[ch]
        if ch == "0":
            digits = ""
            while len(digits) < 2 and self.i < len(p) and p[self.i] in _OCT:
                digits += p[self.i]
                self.i += 1
            return int(digits or "0", 8)
        if ch == "o":
            return self.braced_number(8, "\\o")
        if ch == "x":
            if self.i < len(p) and p[self.i] == "{":
                return self.braced_number(16, "\\x")
            digits = ""
            while len(digits) < 2 and self.i < len(p) and p[self.i] in _HEX:
                digits += p[self.i]
                self.i += 1
            return int(digits or "0", 16)
        if ch == "c":
            if self.i >= len(p) or not (" " <= p[self.i] <= "~"):
                raise self.error("\\c must be followed by a printable ASCII character")
            code = ord(p[self.i].upper()) ^ 0x40
            self.i += 1
            return code
        if ch.isascii() and ch.isalnum():
            raise self.error(f"unrecognized escape \\{ch}")
        return ord(ch)

    def quoted(self) -> str:
        """The literal text of ``\\Q...\\E`` (after ``\\Q``; an unclosed one runs to the end)."""
        p = self.p
        end = p.find("\\E", self.i)
        end = len(p) if end < 0 else end
        text = p[self.i : end]
        self.i = min(len(p), end + 2)
        return text

    def braced_number(self, base: int, name: str) -> int:
        p = self.p
        if self.i >= len(p) or p[self.i] != "{":
            raise self.error(f"{name} must be followed by {{...}}")
        end = p.find("}", self.i)
        if end < 0:
            raise self.error(f"unterminated {name}{{")
        try:
            code = int(p[self.i + 1 : end], base)
        except ValueError:
            raise self.error(f"bad number in {name}{{...}}") from None
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise self.error(f"character code {code:#x} out of range")
        self.i = end + 1
        return code

    def property(self, letter: str) -> str:
        p = self.p
        if self.i >= len(p):
            raise self.error(f"\\{letter} at end of pattern")
        if p[self.i] == "{":
            end = p.find("}", self.i)
            if end < 0:
                raise self.error(f"unterminated \\{letter}{{")
            text = p[self.i : end + 1]
            self.i = end + 1
            return f"\\{letter}{text}"
        text = p[self.i]
        self.i += 1
        return f"\\{letter}{text}"

    def char_class(self) -> str:
        p = self.p
        self.i += 1
        out = ["["]
        if self.i < len(p) and p[self.i] == "^":
            out.append("^")
            self.i += 1
        if p.startswith(":", self.i) and p.find(":]", self.i + 1) == p.find("]", self.i + 1) - 1:
            raise self.error("POSIX named classes are supported only within a class")
        first = True
        previous_was_set = False
        while True:
            if self.i >= len(p):
                raise self.error("missing terminating ] for character class")
            ch = p[self.i]
            if ch == "]" and not first:
                self.i += 1
                break
            first = False
            if ch == "[" and p.startswith(("[:", "[.", "[="), self.i):
                end = p.find(p[self.i + 1] + "]", self.i + 2)
                if p[self.i + 1] != ":" or end < 0:
                    raise self.error("POSIX collating elements are not supported")
                name = p[self.i + 2 : end]
                bare = name[1:] if name.startswith("^") else name
                if bare not in _POSIX_CLASSES:
                    raise self.error(f"unknown POSIX class name {name!r}")
                out.append(f"[:{name}:]")
                self.i = end + 2
                previous_was_set = True
                continue
            if ch == "-" and previous_was_set and self.i + 1 < len(p) and p[self.i + 1] != "]":
                raise self.error("invalid range in character class")
            single, text = self.class_atom()
            if single is None:
                out.append(text)
                previous_was_set = text != ""
                continue
            previous_was_set = False
            if self.i + 1 < len(p) and p[self.i] == "-" and p[self.i + 1] != "]":
                self.i += 1
                if p.startswith("[:", self.i):
                    raise self.error("invalid range in character class")
                high, _ = self.class_atom()
                if high is None:
                    raise self.error("invalid range in character class")
                if high < single:
                    raise self.error("range out of order in character class")
                out.append(f"{_char(single)}-{_char(high)}")
                continue
            out.append(_char(single))
        out.append("]")
        return "".join(out)

    def class_atom(self) -> tuple[int | None, str]:
        """One class member: ``(code, "")`` for a character or ``(None, text)`` for a set."""
        p = self.p
        ch = p[self.i]
        if ch != "\\":
            self.i += 1
            return ord(ch), ""
        if self.i + 1 >= len(p):
            raise self.error("'\\' at end of pattern")
        esc = p[self.i + 1]
        self.i += 2
        if esc in "dDwW":
            return None, "\\" + esc
        if esc in _SPACE_CLASSES:
            return None, _SPACE_CLASSES[esc]
        if esc == "S":
            return None, "[:^space:]"
        if esc in "HVNRXKC":
            raise self.error(f"\\{esc} is not supported inside a character class")
        if esc == "b":
            return 0x08, ""
        if esc in "pP":
            return None, self.property(esc)
        if esc == "Q":
            return None, "".join(_char(ord(c)) for c in self.quoted())
        if esc == "E":
            return None, ""
        if esc in "123456789":
            raise self.error(f"\\{esc} inside a character class is not supported")
        return self.char_escape(esc), ""

    def group(self, depth: int) -> tuple[str, _Node | None]:
        p = self.p
        start = self.i
        self.i += 1
        if p.startswith("*", self.i):
            raise _unsupported(self.p, "a (*VERB)")
        opening = "("
        inner_flags: tuple[bool, bool] | None = None
        if p.startswith("?", self.i):
            self.i += 1
            if self.i >= len(p):
                raise self.error("unterminated group")
            ch = p[self.i]
            if ch == "#":
                end = p.find(")", self.i)
                if end < 0:
                    raise self.error("missing ) after (?# comment")
                self.i = end + 1
                return "", None
            if ch == ":":
                self.i += 1
                opening = "(?:"
            elif p.startswith(("<=", "<!"), self.i) or ch in "=!":
                raise _unsupported(self.p, "lookaround")
            elif ch == ">":
                raise _unsupported(self.p, "an atomic group")
            elif ch == "|":
                raise _unsupported(self.p, "a branch-reset group")
            elif ch in "<'" or p.startswith("P<", self.i):
                close = ">" if ch != "'" else "'"
                self.i += 2 if ch == "P" else 1
                end = p.find(close, self.i)
                name = p[self.i : end] if end >= 0 else ""
                if (
                    not name
                    or not (name[0].isalpha() or name[0] == "_")
                    or not all(c.isalnum() or c == "_" for c in name)
                ):
                    raise self.error("bad group name")
                self.i = end + 1
                opening = "("
            elif ch in "R&(C+-0123456789" and not (ch == "-" and self.is_flag_group()):
                raise _unsupported(self.p, "recursion, a conditional or a callout")
            elif ch == "P":
                raise _unsupported(self.p, "a named backreference or recursion")
            else:
                scoped, opening, inner_flags = self.flag_group(start)
                if not scoped:
                    return opening, None
        saved = (self.multiline, self.extended)
        if inner_flags is not None:
            self.multiline, self.extended = inner_flags
        body, branches = self.alternation(depth + 1)
        self.multiline, self.extended = saved
        if self.i >= len(p) or p[self.i] != ")":
            raise self.error("missing )")
        self.i += 1
        return f"{opening}{body})", _Node("group", branches=branches)

    def is_flag_group(self) -> bool:
        p = self.p
        j = self.i
        while j < len(p) and p[j] in "imnsxUJ-":
            j += 1
        return j < len(p) and p[j] in ":)"

    def flag_group(self, start: int) -> tuple[bool, str, tuple[bool, bool] | None]:
        """Reads ``(?flags)`` or ``(?flags:``: ``(scoped, RE2 text, (m, x) inside)``.

        The unscoped form changes the flags for the rest of the enclosing group (in PCRE2 and
        RE2 alike, across later ``|`` branches too), so it updates the reader's state."""
        p = self.p
        on = True
        keep: dict[str, bool] = {}
        multiline, extended = self.multiline, self.extended
        while self.i < len(p) and p[self.i] not in ":)":
            ch = p[self.i]
            self.i += 1
            if ch == "-":
                if not on:
                    raise self.error("bad inline flags")
                on = False
            elif ch == "m":
                multiline = on
            elif ch == "x":
                if p.startswith("x", self.i):
                    raise self.error("the xx flag is not supported")
                extended = on
            elif ch in "isU":
                keep[ch] = on
                self.caseless = self.caseless or (ch == "i" and on)
            elif ch in "nJ":
                continue
            else:
                raise self.error(f"unknown inline flag {ch!r} in {p[start : self.i]!r}")
        if self.i >= len(p):
            raise self.error("unterminated inline flag group")
        scoped = p[self.i] == ":"
        self.i += 1
        enabled = "".join(k for k, v in keep.items() if v)
        disabled = "".join(k for k, v in keep.items() if not v)
        spec = enabled + ("-" + disabled if disabled else "")
        if scoped:
            return True, (f"(?{spec}:" if spec else "(?:"), (multiline, extended)
        self.multiline, self.extended = multiline, extended
        return False, (f"(?{spec})" if spec else ""), None


def _check_anchors(pattern: str, branches: list[list[_Node]]) -> None:
    """Refuses the anchor placements whose PCRE2 meaning the translation cannot keep."""

    def walk_caret(seq: list[_Node], consumed: bool, in_repeat: bool) -> bool:
        for node in seq:
            if node.kind == "caret_m" and (consumed or in_repeat):
                raise _refuse(
                    pattern, "with the m option, '^' must begin its branch (not supported here)"
                )
            if node.kind == "group":
                repeat = in_repeat or node.quantified
                ends = [walk_caret(b, consumed, repeat) for b in node.branches]
                consumed = consumed or any(ends)
            elif node.kind == "atom":
                consumed = True
        return consumed

    def walk_dollar(seq: list[_Node], followed: bool, in_repeat: bool) -> bool:
        for node in reversed(seq):
            if node.kind == "dollar" and (followed or in_repeat):
                raise _refuse(
                    pattern,
                    "'$' or '\\Z' followed by more pattern is not supported here "
                    "(use the m option or end the pattern at '$')",
                )
            if node.kind == "group":
                repeat = in_repeat or node.quantified
                starts = [walk_dollar(b, followed, repeat) for b in node.branches]
                followed = followed or any(starts)
            elif node.kind != "dollar":
                followed = True
        return followed

    for branch in branches:
        walk_caret(branch, False, False)
        walk_dollar(branch, False, False)


def _has_kind(branches: list[list[_Node]], kind: str) -> bool:
    stack = [n for b in branches for n in b]
    while stack:
        node = stack.pop()
        if node.kind == kind:
            return True
        stack.extend(n for b in node.branches for n in b)
    return False


_MAX_PREFIXES: Final = 64


def _literal_text(branch: list[_Node]) -> str | None:
    """The text of a branch made only of plain, unquantified characters, else None."""
    if all(n.kind == "atom" and n.literal is not None and not n.quantified for n in branch):
        return "".join(n.literal or "" for n in branch)
    return None


def _prefilter(branches: list[list[_Node]]) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """Cheap necessary conditions for a match, checked before calling RE2: the subject starts
    with one of the prefixes (for a pattern anchored at the start), contains the required
    text (the longest run of literal characters every match must contain) and ends with one
    of the suffixes (for a pattern ending in literal characters and ``$``)."""
    if len(branches) != 1:
        return (), "", ()
    sequence = branches[0]
    prefixes: tuple[str, ...] = ()
    if sequence and sequence[0].kind == "start":
        current = [""]
        for node in sequence[1:]:
            if node.quantified:
                break
            if node.kind == "atom" and node.literal is not None:
                current = [p + node.literal for p in current]
            elif node.kind == "group":
                texts = [_literal_text(b) for b in node.branches]
                if any(t is None for t in texts) or len(current) * len(texts) > _MAX_PREFIXES:
                    break
                current = [p + (t or "") for p in current for t in texts]
            else:
                break
        if all(current):
            prefixes = tuple(current)
    required = run = ""
    for node in sequence:
        if node.kind == "atom" and node.literal is not None and not node.quantified:
            run += node.literal
            if len(run) > len(required):
                required = run
        elif node.kind not in ("zero", "start", "caret_m"):
            run = ""
    suffixes: tuple[str, ...] = ()
    if sequence and sequence[-1].kind == "dollar":
        tail = ""
        for node in reversed(sequence[:-1]):
            if node.kind != "atom" or node.literal is None or node.quantified:
                break
            tail = node.literal + tail
        if tail:
            suffixes = (tail, tail + "\n")  # PCRE's $ also matches before a final newline
    return prefixes, required, suffixes


def _re2_compile(pattern: str, source: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True
    try:
        return re2.compile(pattern, options)._regexp
    except re2.error as exc:
        message = exc.args[0] if exc.args else exc
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise _refuse(source, f"invalid or unsupported regular expression ({message})") from None


class BoundedRegex:
    """A compiled ``$regex``: ``search(text)`` says whether the pattern matches a string."""

    __slots__ = (
        "_empty_at_end",
        "_prefixes",
        "_regexp",
        "_required",
        "_suffixes",
        "cost",
        "flags",
        "pattern",
        "search",
    )

    def __init__(self, pattern: str, flags: str) -> None:
        self.pattern = pattern
        self.flags = flags
        translator = _Translator(pattern, multiline="m" in flags, extended="x" in flags)
        body, branches = translator.translate()
        _check_anchors(pattern, branches)
        prefix = "".join(f for f in "is" if f in flags)
        prefix = f"(?{prefix})" if prefix else ""
        has_caret = _has_kind(branches, "caret_m")
        main = prefix + body.replace(_CARET_M, "(?m:^)")
        self._regexp = _re2_compile(main, pattern)
        #: The RE2 program size: what a search may cost per character of text, at worst.
        self.cost: int = self._regexp.ProgramSize()
        caseless = "i" in flags or translator.caseless
        self._prefixes, self._required, self._suffixes = (
            ((), "", ()) if caseless else _prefilter(branches)
        )
        self._empty_at_end = False
        if has_caret:
            # Can the pattern match right after a final newline without using a '^' there?
            nocaret = "\\n(?:" + prefix + body.replace(_CARET_M, "(?:\\b\\B)") + ")"
            probe = _re2_compile(nocaret, pattern)
            self._empty_at_end = probe.Match(_ANCHOR_BOTH, b"\n", 0, 1)[0][0] != -1
            self.search: Callable[[str], bool] = self._search_caret
        else:
            self.search = self._make_plain_search()

    def _make_plain_search(self) -> Callable[[str], bool]:
        match = self._regexp.Match
        prefixes, required, suffixes = self._prefixes, self._required, self._suffixes

        def search(text: str) -> bool:
            if prefixes and not text.startswith(prefixes):
                return False
            if suffixes and not text.endswith(suffixes):
                return False
            if required and required not in text:
                return False
            data = text.encode("utf-8", "surrogatepass")
            return match(_UNANCHORED, data, 0, len(data))[0][0] != -1

        return search

    def _search_caret(self, text: str) -> bool:
        if self._required and self._required not in text:
            return False
        data = text.encode("utf-8", "surrogatepass")
        start = self._regexp.Match(_UNANCHORED, data, 0, len(data))[0][0]
        if start == -1:
            return False
        if start < len(data) or not data.endswith(b"\n"):
            return True
        return self._empty_at_end

    def __repr__(self) -> str:
        return f"BoundedRegex({self.pattern!r}, {self.flags!r})"


def check_options(pattern: str, options: str) -> None:
    """Raises InvalidQueryError for an option letter MongoDB does not accept."""
    for letter in options:
        if letter not in VALID_OPTIONS:
            raise _refuse(pattern, f"invalid flag in regex options: {letter!r}")


@functools.lru_cache(maxsize=512)
def compile_regex(pattern: str, options: str = "") -> BoundedRegex:
    """Validates and compiles a MongoDB regular expression with its ``$options``.

    Raises InvalidQueryError for an invalid pattern or option, a pattern over MongoDB's
    length limit or with a NUL byte, or one that needs a backtracking engine.
    """
    if not isinstance(pattern, str):
        raise InvalidQueryError("$regex has to be a string")
    check_options(pattern, options)
    if "\x00" in pattern:
        raise InvalidQueryError("Regular expression cannot contain an embedded null byte")
    if len(pattern.encode("utf-8", "surrogatepass")) > MAX_PATTERN_LENGTH:
        raise _refuse(
            pattern[:40] + "...", f"pattern is longer than the limit of {MAX_PATTERN_LENGTH}"
        )
    return BoundedRegex(pattern, options)
