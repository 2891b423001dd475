"""Which licence a release's metadata and bundled licence texts name, as one SPDX expression.

Used by ``build_pypi_entries.py``. A licence is named only when the release leaves no doubt:
its ``License-Expression`` (or a ``License`` field that is an SPDX expression), a ``License``
field whose first line is an unmistakable licence name ("Apache License, Version 2.0",
"BSD 3-Clause License"), a classifier naming exactly one licence, or the licence files the
wheel bundles, which must all name the same single licence and agree with any licence family
the classifiers or ``License`` field name ("BSD License" + a three-clause text →
``BSD-3-Clause``). Several licences, an unknown text or a disagreement name none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: Licence classifiers that name exactly one SPDX licence.
CLASSIFIER_SPDX = {
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: MIT No Attribution License (MIT-0)": "MIT-0",
    "License :: OSI Approved :: ISC License (ISCL)": "ISC",
    "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
    "License :: OSI Approved :: Zope Public License": "ZPL-2.1",
    "License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)": (
        "LGPL-3.0-or-later"
    ),
    "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)": (
        "GPL-3.0-or-later"
    ),
    "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)": (
        "GPL-2.0-or-later"
    ),
    "License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)": (
        "AGPL-3.0-or-later"
    ),
    "License :: OSI Approved :: Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
}

#: Classifiers that name a licence family but not which member (the text decides).
CLASSIFIER_FAMILY = {
    "License :: OSI Approved :: Apache Software License": "Apache",
    "License :: OSI Approved :: BSD License": "BSD",
    "License :: OSI Approved :: MIT License": "MIT",
}

#: ``License`` field first lines (lower case, trailing period dropped) that name one licence.
LICENSE_NAMES = {
    **dict.fromkeys(
        (
            "apache 2.0",
            "apache 2.0 license",
            "apache-2.0 license",
            "apache license 2.0",
            "apache license, version 2.0",
            "apache license version 2.0",
            "apache software license 2.0",
            "apache software license, version 2.0",
        ),
        "Apache-2.0",
    ),
    **dict.fromkeys(("mit license", "the mit license", "the mit license (mit)"), "MIT"),
    **dict.fromkeys(
        (
            "bsd 3-clause",
            "bsd 3-clause license",
            "bsd-3-clause license",
            "3-clause bsd",
            "3-clause bsd license",
            "new bsd",
            "new bsd license",
            "modified bsd",
            "modified bsd license",
            "revised bsd license",
        ),
        "BSD-3-Clause",
    ),
    **dict.fromkeys(
        (
            "bsd 2-clause",
            "bsd 2-clause license",
            "bsd-2-clause license",
            "2-clause bsd",
            "2-clause bsd license",
            "simplified bsd",
            "simplified bsd license",
        ),
        "BSD-2-Clause",
    ),
    **dict.fromkeys(("mozilla public license 2.0", "mpl 2.0", "mpl-2.0 license"), "MPL-2.0"),
    "isc license": "ISC",
}

#: Families a ``License`` field's first word names ("BSD", "Apache Software License").
FIELD_FAMILY = {"apache": "Apache", "bsd": "BSD", "mit": "MIT"}

#: Longest flattened text that is one licence and its copyright lines, not a bundle of more.
LONGEST_TEXT = {
    "Apache-2.0": 13_000,
    "MIT": 2_500,
    "BSD-2-Clause": 2_500,
    "BSD-3-Clause": 3_000,
    "BSD-4-Clause": 3_500,
    "ISC": 1_500,
    "MPL-2.0": 19_000,
}
#: Phrases of licences not recognised here: a text with one names no licence for sure.
OTHER_LICENCES = (
    "general public license",
    "boost software license",
    "python software foundation license",
    "zlib license",
    "public domain",
    "creative commons",
    "eclipse public license",
    "artistic license",
    "openssl license",
    "unicode, inc.",
    "provided 'as-is', without any express or implied warranty",
)
#: The id a text names when it also holds another licence's text or phrases.
UNRECOGNISED = "LicenseRef-unrecognised"

_SPACE = re.compile(r"\s+")
_BSD_BODY = "redistribution and use in source and binary forms"


def _has(text: str, *phrases: str) -> bool:
    return all(phrase in text for phrase in phrases)


def licences_in_text(text: str) -> set[str]:
    """The SPDX ids whose full text ``text`` contains (several when it bundles several)."""
    flat = _SPACE.sub(" ", text.lower().replace("*", " "))
    found: set[str] = set()
    if _has(flat, "apache license", "version 2.0, january 2004", "terms and conditions for use"):
        found.add("Apache-2.0")
    if _has(flat, "permission is hereby granted, free of charge, to any person obtaining a copy"):
        found.add("MIT")
    if _BSD_BODY in flat:
        if "all advertising materials" in flat:
            found.add("BSD-4-Clause")
        elif "endorse or promote products derived" in flat:  # the third clause
            found.add("BSD-3-Clause")
        else:
            found.add("BSD-2-Clause")
    if _has(flat, "permission to use, copy, modify, and/or distribute this software for any"):
        found.add("ISC")
    if "mozilla public license version 2.0" in flat or "mozilla public license, v. 2.0" in flat:
        found.add("MPL-2.0")
    # MPL 2.0 names the GNU licences as its "Secondary Licenses".
    others = [
        p
        for p in OTHER_LICENCES
        if p in flat and not ("MPL-2.0" in found and p.endswith("public license"))
    ]
    if others or not found or len(flat) > sum(LONGEST_TEXT[i] for i in found):
        found.add(UNRECOGNISED)
    return found


@dataclass(frozen=True)
class NamedLicence:
    """A release's licence and what in the release states it."""

    expression: str
    said: str


def _is_notice(name: str, text: str) -> bool:
    """An Apache-style NOTICE or an AUTHORS list that states no licence of its own."""
    base = name.rsplit("/", 1)[-1].upper()
    return base.startswith(("NOTICE", "AUTHORS")) and "licen" not in text.lower()


def _family(expression: str) -> str:
    return "BSD" if expression.startswith("BSD") else expression.split("-", 1)[0]


def licence_of_release(
    license_expression: str | None,
    license: str | None,
    classifiers: Iterable[str],
    texts: dict[str, str],
) -> NamedLicence | None:
    """The one licence the release names for sure, or None. ``texts``: licence file → text."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    for field, value in (("License-Expression", license_expression), ("License", license)):
        if value and "\n" not in value.strip() and len(value) < 200:
            try:
                expression = str(canonicalize_license_expression(value.strip()))
            except InvalidLicenseExpression:
                continue
            return NamedLicence(expression, f"{field}: {value.strip()}")
    first_line = (license or "").strip().splitlines()[0].strip() if license else ""
    named = LICENSE_NAMES.get(first_line.lower().rstrip("."))
    if named is not None:
        return NamedLicence(named, f"License: {first_line}")
    classifiers = tuple(c for c in classifiers if c.startswith("License ::"))
    exact = {CLASSIFIER_SPDX[c] for c in classifiers if c in CLASSIFIER_SPDX}
    if len(exact) == 1 and all(c in CLASSIFIER_SPDX for c in classifiers):
        return NamedLicence(exact.pop(), f"Classifier: {classifiers[0]}")
    families = {CLASSIFIER_FAMILY[c] for c in classifiers if c in CLASSIFIER_FAMILY}
    if len(families) != len(classifiers):  # a classifier that names no family we can check
        return None
    word = first_line.lower().split()[0].strip(",") if first_line else ""
    if word in FIELD_FAMILY:
        families.add(FIELD_FAMILY[word])
    by_file = {
        name: licences_in_text(text)
        for name, text in sorted(texts.items())
        if not _is_notice(name, text)
    }
    in_texts = set().union(*by_file.values()) if by_file else set()
    if len(in_texts) != 1 or len(families) > 1:
        return None
    (expression,) = in_texts
    if families and _family(expression) != next(iter(families)):
        return None
    files = ", ".join(name for name, found in by_file.items() if found)
    stated = f"Classifier: {classifiers[0]}; " if classifiers else ""
    return NamedLicence(expression, f"{stated}licence file {files}: the {expression} text")
