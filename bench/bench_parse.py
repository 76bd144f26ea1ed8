"""Parse + check throughput per format, against the bare cost of reading the same bytes.

A county portal hosts hundreds of reports a year and a crawl re-reads every version, so parsing must not be
the bottleneck: aims are HTML and text ≥ 200 reports/s, .docx ≥ 50/s, PDF (text layer) ≥ 5/s. The baseline
per format is what any reader must pay anyway (lxml parse of the HTML, python-docx load, openpyxl load,
decoding the text, pdfplumber's text of every page), so the ratio says how much the recognizer and the rules
add. HTML also gets its ratio page by page (the median of each page's parse time over its bare lxml parse,
so that the baseline's allocation noise does not swing it; aim 2x). .doc and .pdf files are made by
LibreOffice in one batch each (its cost is shown on its own for .doc).

A benchmark of a parser that reads wrong is worthless: every benched document must read back exactly — the
PDFs with city-scale figures too, whose long numbers wrap inside their narrow cells and over page breaks.

    .venv/bin/python bench/bench_parse.py [--quick] [--n N] [--no-libreoffice]
"""

from __future__ import annotations

import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as ``python bench/bench_parse.py``

from bench.common import Result, arguments, each, print_table, seconds, seconds_each  # noqa: E402
from crawler.reading.documents import read_document  # noqa: E402
from monitor.judgement.report import parse_bytes  # noqa: E402
from testbed.render import EXTENSIONS, ReportSpec, render, render_many  # noqa: E402
from testbed.synthetic import consistent_cells  # noqa: E402

AGENCIES = ("淄川区招商局", "临淄区人民政府稷下街道办事处", "同江市工业信息化科技局", "淮安市人民政府")
PAGE_META = {"SiteName": "淄川区人民政府", "ColumnName": "政府信息公开年报", "PubDate": "2022-01-28 09:30"}
TARGETS = {"html": 200.0, "html-gbk": 200.0, "text": 200.0, "docx": 50.0, "pdf": 5.0}


def specs(n: int, seed: int = 2024) -> list[ReportSpec]:
    """Reports of both templates, from township-sized to city-sized numbers."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        template = ("2019", "2021")[i % 2]
        out.append(
            ReportSpec(
                template=template,
                year=2020 if template == "2019" else 2021 + i % 4,
                agency=AGENCIES[i % len(AGENCIES)],
                cells=consistent_cells(template, rng, scale=(3, 20, 300, 20000)[i % 4]),
            )
        )
    return out


def _lxml(data: bytes) -> object:
    import lxml.html

    return lxml.html.document_fromstring(data)


def _docx(data: bytes) -> object:
    import docx

    return docx.Document(io.BytesIO(data))


def _xlsx(data: bytes) -> object:
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(data))


# case -> (format, renderer keyword arguments, bare reading of the bytes)
CASES = {
    "html": ("html", {"chrome": True, "meta": PAGE_META}, _lxml),
    "html-gbk": ("html", {"encoding": "gbk", "chrome": True, "declared_charset": "gb2312"}, _lxml),
    "text": ("text", {}, lambda data: data.decode("utf-8")),
    "docx": ("docx", {}, _docx),
    "xlsx": ("xlsx", {}, _xlsx),
}


def check_all(parsed: list, reports: list[ReportSpec], case: str) -> None:
    """A benchmark of a parser that reads wrong is worthless: every report must read back exactly."""
    wrong = [pr for pr, spec in zip(parsed, reports, strict=True) if pr.error or pr.cells != spec.cells]
    if wrong:
        sys.exit(
            f"{case}: {len(wrong)} of {len(parsed)} reports did not read back ({wrong[0].error or 'cells'})"
        )


def bench_direct(reports: list[ReportSpec]) -> list[Result]:
    results = []
    for case, (fmt, kw, bare) in CASES.items():
        datas = [render(spec, fmt, **kw) for spec in reports]
        results.append(bench_case(case, fmt, datas, reports, bare))
    return results


def bench_case(case: str, fmt: str, datas: list[bytes], reports: list[ReportSpec], bare) -> Result:  # noqa: ANN001
    name = f"report.{EXTENSIONS[fmt]}"
    parsed = each(datas, lambda d: parse_bytes(d, name))()  # warm-up, and the correctness check
    check_all(parsed, reports, case)
    timed = seconds_each(
        {
            "parse": each(datas, lambda d: parse_bytes(d, name)),
            "bare": each(datas, bare),
            "read": each(datas, lambda d: read_document(d, name)),
        }
    )
    t, base, read = timed["parse"], timed["bare"], timed["read"]
    avg_kb = sum(map(len, datas)) / len(datas) / 1024
    note = f"{avg_kb:.0f} KB avg; reader {read / t:.0%} of the time, recognize+check {1 - read / t:.0%}"
    if fmt == "html":
        ratio = median_page_ratio(datas, lambda d: parse_bytes(d, name), bare)
        note += f"; per page {ratio:.1f}x bare lxml (median, aim {HTML_RATIO_AIM:g}x)"
    return Result(case, len(datas), t, base, TARGETS.get(case), note)


# The HTML aim: parse + check of a page in at most this many times a bare lxml parse of the same page.
HTML_RATIO_AIM = 2.0


def median_page_ratio(datas: list[bytes], parse, bare, repeat: int = 5) -> float:  # noqa: ANN001
    """The median over pages of (parse time / bare time), each the best of ``repeat`` CPU-time runs of that
    page: a page's ratio does not depend on the machine, and the median not on the odd page that a
    collection or another process slowed down."""
    ratios = []
    for data in datas:
        t = min(_cpu(parse, data) for _ in range(repeat))
        b = min(_cpu(bare, data) for _ in range(repeat))
        ratios.append(t / b if b else float("inf"))
    return statistics.median(ratios)


def _cpu(fn, data: bytes) -> float:  # noqa: ANN001
    start = time.process_time()
    fn(data)
    return time.process_time() - start


def _pdf_text(data: bytes) -> object:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [page.extract_text() for page in pdf.pages]


def bench_pdf(reports: list[ReportSpec]) -> list[Result]:
    """PDF with a text layer, made by LibreOffice from the same reports (city-scale figures among them)."""
    from crawler.reading.documents.office import soffice_path

    if soffice_path() is None:
        return [Result("pdf", 0, 0.0, note="LibreOffice not installed: skipped")]
    datas = render_many([(spec, "pdf") for spec in reports])
    return [bench_case("pdf", "pdf", datas, reports, _pdf_text)]


def bench_doc(reports: list[ReportSpec]) -> list[Result]:
    """.doc: one LibreOffice batch converts them all, then each parses from the converter's cache."""
    from crawler.reading.documents.office import OfficeConverter, soffice_path

    if soffice_path() is None:
        return [Result("doc", 0, 0.0, note="LibreOffice not installed: skipped")]
    datas = render_many([(spec, "doc") for spec in reports])
    names = [f"r{i}.doc" for i in range(len(datas))]
    with OfficeConverter() as conv:
        convert = seconds(lambda: conv.prepare(list(zip(names, datas, strict=True))))
        parsed: list = []
        parse = seconds(
            lambda: parsed.extend(
                parse_bytes(d, n, converter=conv) for n, d in zip(names, datas, strict=True)
            )
        )
        runs = conv.runs
    check_all(parsed, reports, "doc")
    return [
        Result("doc (batch convert)", len(datas), convert, note=f"{runs} soffice run(s)"),
        Result(
            "doc (parse converted)", len(datas), parse, convert, note="ratio: parse time / conversion time"
        ),
        Result("doc (total)", len(datas), convert + parse),
    ]


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0], full=300, quick=30, flags={"--no-libreoffice": "skip the .doc batch"}
    )
    reports = specs(args.n)
    results = bench_direct(reports)
    if not args.no_libreoffice:
        results += bench_pdf(reports[: max(8, args.n // 3)])
        results += bench_doc(reports[: max(4, args.n // 5)])
    print(f"parse + check, {args.n} generated reports per format (both templates); CPU time of this process,")
    print("best of 2 interleaved runs (LibreOffice rows: wall-clock time); every document read back exactly")
    print_table(results, baseline_name="bare read")


if __name__ == "__main__":
    main()
