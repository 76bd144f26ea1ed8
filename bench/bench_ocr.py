"""OCR of scanned reports: seconds per page on one core, cells right, and false errors (must be 0).

Real scans are made the way townships make them: reports with known cells (both templates, township- to
city-sized figures) rendered to PDF by LibreOffice, rasterized with pdftoppm at 150–200 dpi, turned by up
to 2°, blurred, speckled, stamped with a red seal and saved as JPEG (``testbed.scan``), then published as
image-only PDFs. A third of them print one 表三 总计 wrong, the way the demo portal's ``row_total`` report
does: those must still be found inconsistent, and no other report may be.

Figures:
* seconds per scanned page, CPU time of this process (OCR runs on one thread), against the baseline
  measured in the same run: reading the same report from its text-layer PDF (what it costs when the agency
  publishes text) — the ratio is what a scan costs more;
* cells right: every cell of the template, against the source's values;
* sure cells: the share the reader is sure of, and how many of those are wrong (must be 0: an accusation
  rests only on sure cells), with the confidence of the best-scored wrong cell (``SURE_CONFIDENCE`` must
  stay above it) — the calibration of ``crawler.reading.ocr.SURE_CONFIDENCE``;
* false errors on consistent reports (must be 0), and inconsistent reports found.

    .venv/bin/python bench/bench_ocr.py [--quick] [--n N]
"""

from __future__ import annotations

import random
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as ``python bench/bench_ocr.py``

from bench.common import arguments  # noqa: E402

AGENCIES = ("淄川区招商局", "临淄区人民政府稷下街道办事处", "同江市工业信息化科技局", "淮安市人民政府")
BROKEN_CELL = "s3.granted.total"  # printed wrong in the inconsistent reports (as the demo's row_total)


def damages():
    from testbed.scan import POOR, Damage

    return [
        ("clean 200dpi", Damage(dpi=200, angle=0.4)),
        ("poor 160dpi", POOR),
        ("skew 150dpi", Damage(dpi=150, angle=-2.0, blur=0.6, speckle=0.002, stamp=True, jpeg_quality=65)),
    ]


def make_reports(n: int, seed: int = 12):
    """(spec, broken?, damage name, damage) for n reports."""
    from testbed.render import ReportSpec
    from testbed.synthetic import consistent_cells

    rng = random.Random(seed)
    kinds = damages()
    out = []
    for i in range(n):
        template = ("2021", "2019")[i % 2]
        cells = consistent_cells(template, rng, scale=(20, 300, 3000)[i % 3])
        broken = i % 3 == 2
        if broken:
            cells[BROKEN_CELL] += 3  # type: ignore[operator]
        spec = ReportSpec(
            template=template,
            year=2020 if template == "2019" else 2021 + i % 4,
            agency=AGENCIES[i % len(AGENCIES)],
            cells=cells,
        )
        name, damage = kinds[i % len(kinds)]
        out.append((spec, broken, name, damage))
    return out


def main() -> int:
    args = arguments(__doc__.splitlines()[0], full=9, quick=3)
    from crawler.reading.documents.ocr import available
    from crawler.reading.ocr import SURE_CONFIDENCE
    from crawler.reading.read import read_bytes
    from monitor.judgement import is_inconsistent, judge
    from testbed.render import render_many
    from testbed.scan import images_to_pdf, scan_pdf

    if not available():
        print("OCR is not installed: pip install 'gkwatch[ocr]'")
        return 1
    reports = make_reports(args.n)
    print(f"rendering {len(reports)} reports to PDF with LibreOffice …", flush=True)
    pdfs = render_many([(spec, "pdf") for spec, *_ in reports])
    read_bytes(pdfs[0], "warm.pdf")  # load the readers (and below, the OCR models) outside the timings

    pages = cpu = base_cpu = 0.0
    cells = right = sure = sure_wrong = corrected = 0
    wrong_conf: list[float] = []
    right_conf: list[float] = []
    false_errors = found = broken_total = 0
    warm = False
    print(f"{'report':<34} {'damage':<13} pages  s/page  cells right  sure  verdict")
    for (spec, broken, damage_name, damage), pdf in zip(reports, pdfs, strict=True):
        scan = images_to_pdf(
            scan_pdf(pdf, damage, seed=zlib.crc32(spec.agency.encode()) % 1000), dpi=damage.dpi
        )
        if not warm:
            read_bytes(scan, "warm-scan.pdf")
            warm = True
        t0 = time.process_time()
        text_reading = read_bytes(pdf, "report.pdf")
        t1 = time.process_time()
        reading = read_bytes(scan, "scan.pdf")
        t2 = time.process_time()
        assert text_reading.error is None, text_reading.error
        n_pages = max(1, len(_ocr_pages(reading)))
        pages += n_pages
        cpu += t2 - t1
        base_cpu += t1 - t0
        doc_right = 0
        for key, want in spec.cells.items():
            c = reading.cells.get(key)
            got = c.value if c is not None else None
            ok = got == want or (isinstance(want, float) and got is not None and abs(got - want) < 1e-6)
            cells += 1
            doc_right += ok
            if c is not None and c.sure and c.value is not None:  # a cell not found accuses nothing
                sure += 1
                sure_wrong += not ok
            if c is not None and not ok and c.confidence is not None:
                wrong_conf.append(c.confidence)
            if c is not None and ok and c.confidence is not None:
                right_conf.append(c.confidence)
            corrected += c is not None and c.how == "ocr_corrected"
        right += doc_right
        misread = [
            (k, want, reading.cells[k].value)
            for k, want in spec.cells.items()
            if reading.cells[k].value != want
        ]
        findings = judge(reading)
        bad = is_inconsistent(findings)
        if broken:
            broken_total += 1
            found += bad
        else:
            false_errors += bad
        verdict = ("inconsistent" if bad else "consistent") + (" (printed wrong)" if broken else "")
        label = f"{spec.agency[:10]} {spec.year} ({spec.template})"
        print(
            f"{label:<34} {damage_name:<13} {n_pages:>5}  {(t2 - t1) / n_pages:6.2f}  "
            f"{doc_right:>5}/{len(spec.cells):<5} {sum(1 for c in reading.cells.values() if c.sure):>5}  {verdict}",
            flush=True,
        )
        if misread:
            print(f"    misread: {misread[:6]}{' …' if len(misread) > 6 else ''}", flush=True)
    print()
    print(
        f"seconds per scanned page (CPU, one core): {cpu / pages:.2f}   "
        f"text-layer PDF baseline: {base_cpu / pages:.3f} s/page   ratio {cpu / max(base_cpu, 1e-9):,.0f}x"
    )
    print(f"cells right: {right}/{cells} = {100 * right / cells:.2f} %   corrected by the sums: {corrected}")
    print(
        f"sure cells: {sure}/{cells} = {100 * sure / cells:.1f} %   sure and wrong: {sure_wrong} (must be 0)"
    )
    print(
        f"highest confidence of a wrong cell: {max(wrong_conf) if wrong_conf else '-'}   "
        f"SURE_CONFIDENCE = {SURE_CONFIDENCE}"
    )
    shares = "  ".join(
        f"≥{t}: {100 * sum(x >= t for x in right_conf) / max(1, len(right_conf)):.1f} %"
        for t in (0.97, 0.99, 0.995, 0.998, 0.999)
    )
    print(f"right cells by confidence: {shares}")
    print(f"false errors (consistent reports called inconsistent): {false_errors} (must be 0)")
    print(f"inconsistent reports found: {found}/{broken_total}")
    return 0 if false_errors == 0 and sure_wrong == 0 else 1


def _ocr_pages(reading) -> list[str]:  # noqa: ANN001
    for note in reading.notes:
        if note.startswith("OCR：识别了 "):
            return ["p"] * int(note.split("识别了 ")[1].split(" ")[0])
    return []


if __name__ == "__main__":
    raise SystemExit(main())
