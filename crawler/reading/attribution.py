"""Which agency a report belongs to, from the names a portal prints.

Portals name an agency in the report title ("区招商局2023年政府信息公开工作年度报告"), in the page's
``ContentSource`` meta, or only in the sub-column the report sits in (乡镇街道 → 龙泉镇). We look for every
registered name and alias in those texts and take the longest hit: "淄川区招商局" beats "招商局", so an
agency whose name contains another's is not mistaken for it. Nothing found → the report is kept as
*discovered*, with the name taken from its title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.config import AgencyConfig

_TITLE_AGENCY = re.compile(
    r"^\s*(?:关于)?(.{2,40}?)\s*[（(]?\s*(?:19|20)\d{2}\s*年度?.*?(?:政府)?信息公开.*?报告"
)
_NOISE = re.compile(r"[\s《》“”\"'【】\[\]]")


@dataclass(frozen=True)
class AgencyMatch:
    agency_id: str | None  # None: not registered (discovered)
    name: str  # the registered name, or the name as found
    matched: str  # the text that matched (name or alias)
    source: str  # content_source | title | column | document | title_guess


def _norm(s: str) -> str:
    return _NOISE.sub("", s or "")


class AgencyMatcher:
    """Matches texts against the registry, preferring the portal's own agencies.

    A registry holds up to ~150,000 names: rather than testing each name against a text, the text's own
    substrings (of the lengths names have) are looked up in a dict — the cost follows the text's length,
    not the registry's size.
    """

    def __init__(self, agencies: list[AgencyConfig]):
        names: list[tuple[str, AgencyConfig]] = []
        for a in agencies:
            for n in {a.name, *a.aliases}:
                if _norm(n):
                    names.append((_norm(n), a))
        names.sort(key=lambda t: len(t[0]), reverse=True)
        # name → [(rank, agency)]: rank is the place in longest-first order (ties: registry order)
        self._by_name: dict[str, list[tuple[int, AgencyConfig]]] = {}
        for rank, (n, a) in enumerate(names):
            self._by_name.setdefault(n, []).append((rank, a))
        self._lengths = sorted({len(n) for n, _ in names})

    def _find(self, text: str | None, portal_id: str | None) -> tuple[str, AgencyConfig] | None:
        t = _norm(text or "")
        if not t:
            return None
        hits: list[tuple[int, str, AgencyConfig]] = []
        seen: set[str] = set()
        for length in self._lengths:
            if length > len(t):
                break
            for i in range(len(t) - length + 1):
                part = t[i : i + length]
                if part in self._by_name and part not in seen:
                    seen.add(part)
                    hits += [(rank, part, a) for rank, a in self._by_name[part]]
        if not hits:
            return None
        hits.sort(key=lambda h: h[0])  # longest first
        own = [h for h in hits if portal_id and h[2].portal == portal_id]
        _, name, agency = (own or hits)[0]
        return name, agency

    def match(
        self,
        *,
        portal_id: str | None = None,
        content_source: str | None = None,
        title: str | None = None,
        column: str | None = None,
        document_agency: str | None = None,
    ) -> AgencyMatch | None:
        """The agency of a report; ``None`` when no text names one at all."""
        for source, text in (
            ("content_source", content_source),
            ("title", title),
            ("document", document_agency),
            ("column", column),
        ):
            hit = self._find(text, portal_id)
            if hit:
                return AgencyMatch(hit[1].id, hit[1].name, hit[0], source)
        guess = agency_from_title(title) or (document_agency or "").strip() or (content_source or "").strip()
        if guess:
            return AgencyMatch(None, guess, guess, "title_guess")
        return None


def agency_from_title(title: str | None) -> str | None:
    """The agency a report title names before its year: "XX局2023年…年度报告" → "XX局"."""
    if not title:
        return None
    m = _TITLE_AGENCY.search(title)
    if not m:
        return None
    name = _norm(m.group(1)).rstrip("的")
    return name or None
