"""Which agency and which year a report stands for: one answer, from everything known about it.

Portals name an agency in the report's title ("区招商局2023年政府信息公开工作年度报告"), in the document
itself, in the page's 发布机构 / ``ContentSource`` meta, or only in the sub-column the report sits in
(乡镇街道 → 龙泉镇). The title decides first, then the document, then the page's 发布机构, then the column:
a government's own report published by its office (发布机构 …人民政府办公室) is the government's, because
its title says so. In each text every registered name and alias is looked for and the longest hit taken:
"淄川区招商局" beats "招商局", so an agency whose name contains another's is not mistaken for it. Nothing
found → the report is kept as *discovered*, with the name taken from its title.

The year: the title's, then the document's (its own title, its statistical period, its prose), then the
column's, then one named in the URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.config import AgencyConfig
from domain.titles import agency_from_title, squeeze_name, year_from_title, year_from_url


@dataclass(frozen=True)
class AgencyMatch:
    agency_id: str | None  # None: not registered (discovered)
    name: str  # the registered name, or the name as found
    matched: str  # the text that matched (name or alias)
    source: str  # content_source | title | column | document | title_guess


_norm = squeeze_name


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
            ("title", title),
            ("document", document_agency),
            ("content_source", content_source),
            ("column", column),
        ):
            hit = self._find(text, portal_id)
            if hit:
                return AgencyMatch(hit[1].id, hit[1].name, hit[0], source)
        guess = agency_from_title(title) or (document_agency or "").strip() or (content_source or "").strip()
        if guess:
            return AgencyMatch(None, guess, guess, "title_guess")
        return None


@dataclass(frozen=True)
class ReportFacts:
    """What the portal and the document say about one report (``storage.models.Report`` + its reading)."""

    portal_id: str | None
    url: str
    title: str | None = None  # the page's ArticleTitle, else the listing's link text
    link_text: str | None = None
    column: str | None = None
    content_source: str | None = None
    document_title: str | None = None
    document_agency: str | None = None
    document_year: int | None = None


@dataclass(frozen=True)
class Attribution:
    agency_id: str | None
    agency_name: str | None
    by: str | None  # title | document | content_source | column | title_guess; None: nothing names one
    year: int | None
    year_source: str | None  # title | document | column | url


def attribute(facts: ReportFacts, matcher: AgencyMatcher) -> Attribution:
    """The agency and year a report stands for (see the module docstring)."""
    title = facts.title or facts.link_text
    match = matcher.match(
        portal_id=facts.portal_id,
        content_source=facts.content_source,
        title=title,
        column=facts.column,
        document_agency=facts.document_agency,
    )
    if match is None and facts.document_title and facts.document_title != title:
        match = matcher.match(portal_id=facts.portal_id, title=facts.document_title)
    year, source = None, None
    for candidate, how in (
        (year_from_title(title), "title"),
        (year_from_title(facts.link_text), "title"),
        (facts.document_year, "document"),
        (year_from_title(facts.column), "column"),
        (year_from_url(facts.url), "url"),
    ):
        if candidate:
            year, source = candidate, how
            break
    return Attribution(
        match.agency_id if match else None,
        match.name if match else None,
        match.source if match else None,
        year,
        source,
    )


__all__ = ["AgencyMatch", "AgencyMatcher", "Attribution", "ReportFacts", "agency_from_title", "attribute"]
