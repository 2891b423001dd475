"""The licence a release names for sure: metadata first, then bundled licence texts that agree.

The texts are the licence files of packages installed beside sovscan (its own dependencies), so
the identifier is held to real files, not to strings written for it.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from licence_texts import (
    UNRECOGNISED,
    NamedLicence,
    licence_of_release,
    licences_in_text,
)

APACHE = "License :: OSI Approved :: Apache Software License"
BSD = "License :: OSI Approved :: BSD License"
MIT = "License :: OSI Approved :: MIT License"


def licence_file(distribution: str, name: str) -> str:
    """The text of an installed distribution's licence file (skips when it is not there)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed")
    for where in (f"licenses/{name}", name):
        text = dist.read_text(where)
        if text:
            return text
    pytest.skip(f"{distribution} ships no {name}")


@pytest.mark.parametrize(
    ("distribution", "name", "expected"),
    [
        ("requests", "LICENSE", {"Apache-2.0"}),
        ("click", "LICENSE.txt", {"BSD-3-Clause"}),
        ("urllib3", "LICENSE.txt", {"MIT"}),
        ("idna", "LICENSE.md", {"BSD-3-Clause"}),
        ("packaging", "LICENSE.BSD", {"BSD-2-Clause"}),
        ("packaging", "LICENSE.APACHE", {"Apache-2.0"}),
    ],
)
def test_real_licence_files_name_their_licence(distribution, name, expected):
    assert licences_in_text(licence_file(distribution, name)) == expected


def test_a_text_that_bundles_two_licences_names_both():
    apache = licence_file("requests", "LICENSE")
    mit = licence_file("urllib3", "LICENSE.txt")
    assert {"Apache-2.0", "MIT"} <= licences_in_text(apache + "\n\n" + mit)


def test_a_text_with_another_licence_or_too_long_is_not_one_licence():
    mit = licence_file("urllib3", "LICENSE.txt")
    gpl = "\n\nlibgfortran: GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007\n"
    assert UNRECOGNISED in licences_in_text(mit + gpl)
    assert UNRECOGNISED in licences_in_text(mit + "\nthird-party notices\n" * 200)
    assert licences_in_text("Copyright 2024 Example. All rights reserved.") == {UNRECOGNISED}


def test_metadata_fields_name_the_licence_before_any_text():
    named = licence_of_release("MIT", "Apache 2.0", [APACHE], {})
    assert named == NamedLicence("MIT", "License-Expression: MIT")
    named = licence_of_release(None, "Apache License, Version 2.0", [APACHE], {})
    assert named == NamedLicence("Apache-2.0", "License: Apache License, Version 2.0")
    named = licence_of_release(None, "BSD 3-Clause License\n\nCopyright (c) 2008", [BSD], {})
    assert named is not None
    assert named.expression == "BSD-3-Clause"
    named = licence_of_release(None, None, [MIT], {})
    assert named == NamedLicence("MIT", f"Classifier: {MIT}")


def test_a_family_classifier_takes_its_member_from_the_bundled_text():
    click = {"LICENSE.txt": licence_file("click", "LICENSE.txt")}
    named = licence_of_release(None, None, [BSD], click)
    assert named is not None
    assert named.expression == "BSD-3-Clause"
    assert "licence file LICENSE.txt" in named.said
    assert BSD in named.said
    apache = {"LICENSE": licence_file("requests", "LICENSE")}
    named = licence_of_release(None, "Apache", [APACHE], apache)
    assert named is not None
    assert named.expression == "Apache-2.0"


@pytest.mark.parametrize(
    ("license", "classifiers", "texts"),
    [
        # The classifier says BSD, the file is the Apache text: they disagree.
        (None, [BSD], {"LICENSE": ("requests", "LICENSE")}),
        # The License field says Apache, the file is MIT.
        ("Apache Software License", [], {"LICENSE": ("urllib3", "LICENSE.txt")}),
        # Two licence files, two licences: which applies is not stated.
        (None, [], {"A": ("requests", "LICENSE"), "B": ("urllib3", "LICENSE.txt")}),
        # Two licence classifiers and no expression.
        (None, [APACHE, MIT], {"LICENSE": ("urllib3", "LICENSE.txt")}),
        # A family classifier and no licence file.
        (None, [BSD], {}),
        # A free-text name that is no licence name.
        ("BSD", [], {}),
    ],
)
def test_doubt_names_no_licence(license, classifiers, texts):
    files = {name: licence_file(*where) for name, where in texts.items()}
    assert licence_of_release(None, license, classifiers, files) is None


def test_a_notice_without_licence_terms_is_not_a_second_licence():
    texts = {"LICENSE": licence_file("requests", "LICENSE"), "NOTICE": "Requests\nCopyright 2019"}
    named = licence_of_release(None, None, [APACHE], texts)
    assert named is not None
    assert named.expression == "Apache-2.0"
    texts["NOTICE"] = "Parts of this software are under the Elastic License 2.0."
    assert licence_of_release(None, None, [APACHE], texts) is None
