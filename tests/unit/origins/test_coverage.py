"""``sovscan origins stats`` and ``origins check``: what the knowledge base covers."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import cli
from scanner.core.errors import UsageError
from scanner.core.model import Confidence
from scanner.origins.coverage import check, is_stale, months_old, stats
from scanner.origins.explain import explain
from scanner.origins.knowledge import EntryKind, KnowledgeBase, LicenseChange, OriginEntry

TODAY = datetime.date(2026, 12, 5)


def entry(ident: str, kind: EntryKind = EntryKind.PYPI_PACKAGE, **extra: object) -> OriginEntry:
    fields: dict[str, object] = {
        "id": ident,
        "kind": kind,
        "organization": "Org",
        "source": "https://example.org/",
        "confidence": Confidence.HIGH,
        "verified": "checked",
        "as_of": "2026-11",
    }
    fields.update(extra)
    return OriginEntry(**fields)  # type: ignore[arg-type]


KB = KnowledgeBase(
    (
        entry("numpy", community=True, license="BSD-3-Clause", license_release="2.3.0"),
        entry("requests", community=True, as_of="2025-10"),  # 14 months: stale
        entry("google-*", country="US"),
        entry(
            "moved",
            country="US",
            license="Elastic-2.0",
            license_changes=(LicenseChange(versions="<8", license="Apache-2.0"),),
        ),
        entry("someone", EntryKind.GITHUB_ORG, individual=True, as_of="2026"),
        entry("gmail.com", EntryKind.EMAIL_DOMAIN, consumer_mail=True, as_of=None),
    )
)


@pytest.mark.parametrize(
    ("as_of", "months"),
    [("2026-12", 0), ("2025-12", 12), ("2025-11", 13), ("2026", 11), ("2026-13", None),
     ("soon", None), (None, None), ("2024-06-30", 30)],
)  # fmt: skip
def test_months_old(as_of: str | None, months: int | None) -> None:
    assert months_old(as_of, TODAY) == months


def test_only_entries_older_than_twelve_months_are_stale() -> None:
    assert is_stale(entry("x", as_of="2025-11"), TODAY)
    assert not is_stale(entry("x", as_of="2025-12"), TODAY)
    assert not is_stale(entry("x", as_of=None), TODAY)


def test_stats_counts_kinds_stewards_countries_ages_and_licences() -> None:
    text = stats(KB, TODAY, top=1)
    assert text.startswith("6 entries\n")
    assert "  pypi-package                4\n" in text
    assert "  community                   2\n" in text
    assert "  individual                  1\n" in text
    assert "  consumer mail               1\n" in text
    assert (
        "by country (top 1)\n  none                        4\n  others                      2\n"
        in (text)
    )
    assert "  older than 12 months (stale)1\n" in text
    assert "  undated                     1\n" in text
    assert "  families (NAME-*)           1\n" in text
    assert "  with a licence              2\n" in text
    assert "  with licence changes        1\n" in text


def test_check_names_what_has_an_entry_a_family_or_nothing(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "numpy==2.3.0\nRequests>=2\ngoogle-auth==2.40\nmoved==7.1\nmoved2\nunknown-lib==1\n"
    )
    text = check(KB, requirements, TODAY)
    cells = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()[:7]]
    assert cells[0] == ["PACKAGE", "VERSION", "KNOWLEDGE", "LICENCE OFFLINE"]
    assert cells[1:] == [
        ["numpy", "2.3.0", "entry", "BSD-3-Clause"],
        ["requests", "-", "entry (stale: as of 2025-10)", "-"],
        ["google-auth", "2.40", "family google-*", "-"],
        ["moved", "7.1", "entry", "Apache-2.0"],
        ["moved2", "-", "none", "-"],  # unpinned and no entry
        ["unknown-lib", "1", "none", "-"],
    ]
    assert text.endswith(
        "6 packages: 3 with an entry, 1 only by family, 2 with none; a licence known offline "
        "for 2\nno entry: moved2, unknown-lib\n"
    )


def test_check_reads_a_lock(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(
        'version = 1\n\n[[package]]\nname = "numpy"\nversion = "2.3.0"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
    )
    assert "1 packages: 1 with an entry" in check(KB, lock, TODAY)


@pytest.mark.parametrize("name", ["notes.txt", "setup.py", "missing-requirements.txt"])
def test_check_refuses_what_it_cannot_read(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name != "missing-requirements.txt":
        path.write_text("numpy\n")
    with pytest.raises(UsageError, match=name):
        check(KB, path, TODAY)


def test_show_flags_a_stale_entry_and_spells_out_licence_changes() -> None:
    stale = explain(KB, "requests", today=TODAY)
    assert "STALE: as of 2025-10, more than 12 months ago" in stale
    assert "STALE" not in explain(KB, "numpy", today=TODAY)
    moved = explain(KB, "moved", today=TODAY)
    assert "  license changes:        <8: Apache-2.0\n" in moved
    assert "  license:                Elastic-2.0\n" in moved


def test_the_commands_run_on_the_built_in_knowledge(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["origins", "stats", "--top", "3"])
    assert shown.exit_code == 0, shown.output
    assert "by country (top 3)" in shown.output
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("torch==2.5.1\nnvidia-cublas-cu12==12.4.5.8\nno-such-thing==0.1\n")
    checked = runner.invoke(cli, ["origins", "check", str(requirements)])
    assert checked.exit_code == 0, checked.output
    assert "no entry: no-such-thing" in checked.output
    assert "nvidia-cublas-cu12" in checked.output
    bad = runner.invoke(cli, ["origins", "check", str(tmp_path / "x.json")])
    assert bad.exit_code == 2
    assert "not a requirements or lock file" in bad.output
