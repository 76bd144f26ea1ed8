"""docs/rules.md lists every rule and every cell key (so users can rely on it)."""

from pathlib import Path

from domain.codes import RULES
from domain.template import cell_keys

DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")


def test_every_rule_and_cell_is_documented():
    for rule in RULES:
        assert f"`{rule}`" in DOC
    for t in ("2019", "2021"):
        for k in cell_keys(t):
            assert f"`{k}`" in DOC
