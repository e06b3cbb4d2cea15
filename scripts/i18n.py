"""The translation catalogues: ``extract`` (``make i18n``) and ``check`` (``make i18n-check``).

``extract`` runs ``pybabel extract`` over what ``babel.cfg`` names into a template in a temporary
folder and ``pybabel update`` on every catalogue in ``src/fluxwise/locale`` (new messages come in
empty, changed ones fuzzy, removed ones go). ``check`` extracts the same way and fails (exit 1) when a
catalogue lacks a message of the source or keeps one the source no longer has, when a message is
untranslated or fuzzy, or when a translation's placeholders differ from its source's.

Add a language: ``python scripts/i18n.py init <lang>``, translate the new ``.po``, and add the
language to ``fluxwise.i18n.LANGUAGES``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "fluxwise" / "locale"
DOMAIN = "fluxwise"
KEYWORDS = ["-k", "lazy_gettext", "-k", "N_"]


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(pot: Path) -> None:
    os.chdir(ROOT)  # locations relative to the checkout
    pybabel("extract", "-F", str(ROOT / "babel.cfg"), *KEYWORDS, "--add-location=file", "--sort-by-file",
            "--project=fluxwise", "--copyright-holder=fluxwise", "-o", str(pot), ".")


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def cmd_extract() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / f"{DOMAIN}.pot"
        extract(pot)
        for lang in languages():
            pybabel("update", "-i", str(pot), "-d", str(LOCALE), "-D", DOMAIN, "-l", lang,
                    "--ignore-obsolete", "--init-missing")
            print(f"updated {LOCALE.relative_to(ROOT)}/{lang}/LC_MESSAGES/{DOMAIN}.po")
    return 0


def cmd_init(lang: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / f"{DOMAIN}.pot"
        extract(pot)
        pybabel("init", "-i", str(pot), "-d", str(LOCALE), "-D", DOMAIN, "-l", lang)
    print(f"created {LOCALE.relative_to(ROOT)}/{lang}/LC_MESSAGES/{DOMAIN}.po: translate it, then add "
          f"'{lang}' to fluxwise.i18n.LANGUAGES")
    return 0


def _key(message) -> str:
    mid = message.id
    key = "\x04".join(mid) if isinstance(mid, tuple | list) else mid
    return f"{message.context}\x04{key}" if message.context else key


def problems(pot: Path, po: Path) -> list[str]:
    """What is wrong with the catalogue ``po`` against the freshly extracted template ``pot``."""
    with pot.open("rb") as fh:
        source = read_po(fh)
    lang = po.parent.parent.name
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    want = {_key(m) for m in source if m.id}
    have = {_key(m): m for m in catalog if m.id}
    out = []
    for key in sorted(want - set(have)):
        out.append(f"{po}: not in the catalogue (run `make i18n`): {key!r}")
    for key in sorted(set(have) - want):
        out.append(f"{po}: no longer in the source (run `make i18n`): {key!r}")
    for key, m in have.items():
        strings = m.string if isinstance(m.string, tuple | list) else (m.string,)
        if not all(strings):
            out.append(f"{po}: untranslated: {key!r}")
        if m.fuzzy:
            out.append(f"{po}: fuzzy (check the translation, then remove the fuzzy flag): {key!r}")
    for message, errors in catalog.check():
        for error in errors:
            out.append(f"{po}: {error}: {_key(message)!r}")
    return out


def cmd_check() -> int:
    langs = languages()
    if not langs:
        print(f"no catalogues under {LOCALE}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / f"{DOMAIN}.pot"
        extract(pot)
        found = []
        for lang in langs:
            found += problems(pot, LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po")
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print(f"i18n check: {len(found)} problem(s)", file=sys.stderr)
        return 1
    print(f"i18n check: catalogues {', '.join(langs)} complete and up to date")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["extract"]:
        return cmd_extract()
    if argv[:1] == ["check"]:
        return cmd_check()
    if argv[:1] == ["init"] and len(argv) == 2:
        return cmd_init(argv[1])
    print("usage: python scripts/i18n.py extract | check | init <lang>", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
