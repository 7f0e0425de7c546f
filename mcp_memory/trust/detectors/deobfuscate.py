"""Undo the spellings that change how a note looks to a filter but not what it tells a reader.

Two layers, both applied before any rule runs (``base.normalise``):

* Unicode: invisibles dropped, NFKC, Cyrillic/Greek look-alike letters folded inside words that
  are written in Latin (a word wholly in Russian or Greek keeps its own letters, so the
  other-language rules still read it), every dash and minus sign made a hyphen, and thin spaces
  inside a command-line flag removed (``--no‑ verify`` reads as ``--no-verify``).
* Shell: the interpreter named plainly. ``| $SHELL``, ``| "${X}"``, ``| /usr/bin/env bash``,
  ``| b''ash`` all run a shell, so the view says ``| sh`` / ``| bash``; the pipe-to-shell rule
  then needs one spelling per construct instead of one per disguise.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata

# Dashes and minus signs NFKC leaves alone (it already maps the full-width and small forms).
_DASHES = str.maketrans(
    dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a", "-")
)
_NARROW = "\u2006\u2008\u2009\u200a\u202f\u205f"
_NARROW_BY_DASH = re.compile(f"(?<=-)[{_NARROW}]+|[{_NARROW}]+(?=-)")
_FLAG = re.compile(f"(?<![\\w-])--?[\\w][\\w{_NARROW}-]*")
_WORD = re.compile(r"\S+")


def _fold_word(m: re.Match[str], table: dict[int, str]) -> str:
    word = m.group(0)
    folded = word.translate(table)
    if folded == word:
        return word
    latin = any("a" <= ch.lower() <= "z" for ch in word)
    if latin or all(not ch.isalpha() or "a" <= ch.lower() <= "z" for ch in folded):
        return folded  # mixed-script word, or one wholly made of look-alikes
    return word


def plain_unicode(text: str, invisible: re.Pattern[str], table: dict[int, str]) -> str:
    """Unicode layer (see module docstring); ASCII text passes through untouched."""
    if text.isascii():
        return text
    text = invisible.sub("", text)
    text = _NARROW_BY_DASH.sub("", text.translate(_DASHES))
    if any(ch in text for ch in _NARROW):
        text = _FLAG.sub(lambda m: re.sub(f"[{_NARROW}]", "", m.group(0)), text)
    with contextlib.suppress(ValueError, TypeError):  # defensive: normalize accepts any str
        text = unicodedata.normalize("NFKC", text)
    return _WORD.sub(lambda m: _fold_word(m, table), text)


_SUDO = r"(?:sudo\s+(?:-\S+\s+)*)?"
_VAR = r"\"?\$(?:\{[^}\s]{1,40}\}|[A-Za-z_]\w{0,30}|0)\"?"
# After a pipe: a shell named through a variable, or through a path, env, command or exec.
_PIPED_VAR = re.compile(rf"(\|\s*{_SUDO}){_VAR}")
_PIPED_PATH = re.compile(
    rf"(\|\s*{_SUDO})(?:(?:/usr)?(?:/local)?/s?bin/)?(?:(?:env|command|exec|nohup|busybox)\s+"
    r"(?:-\S+\s+)*)+(?=[\w/])|"
    rf"(\|\s*{_SUDO})(?:/usr)?(?:/local)?/s?bin/(?=\w)"
)
# A shell named through a variable in front of -c, process substitution or a here-string.
_VAR_BEFORE = re.compile(rf"(?<![\w$]){_VAR}(?=\s+(?:-\w+\s+)*(?:<\(|<<<|-c\s))")
# Quote and backslash games inside the interpreter's name: b''ash, "ba"sh, b\ash.
_SPLIT_NAME = re.compile(r"(\|\s*" + _SUDO + r")((?:[\w/]|\\\w|''|\"\"|\"\w+\"|'\w+')+)")


def _join_name(m: re.Match[str]) -> str:
    return m.group(1) + re.sub(r"\\(?=\w)|['\"]", "", m.group(2))


def plain_shell(text: str) -> str:
    """Shell layer (see module docstring); text with no pipe or expansion passes through."""
    if "|" not in text and "$" not in text:
        return text
    if "|" in text:
        text = _SPLIT_NAME.sub(_join_name, text)
        text = _PIPED_VAR.sub(lambda m: m.group(1) + "sh", text)
        text = _PIPED_PATH.sub(lambda m: m.group(1) or m.group(2) or "", text)
    if "$" in text:
        text = _VAR_BEFORE.sub("sh", text)
    return text
