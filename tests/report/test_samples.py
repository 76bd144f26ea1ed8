"""Every published sample parses: template, year, agency, title, and cells checked against the documents.

The expected cells were read off the documents themselves (the .txt files by eye, the PDF with pdftotext),
including cells on the second page of the PDF's split 表三 and the signed changes and oddly printed cells.
"""

from __future__ import annotations

import pytest

from domain.template import cell_keys
from monitor.judgement.report import parse_bytes
from tests.conftest import read_sample

EXPECTED = {
    "zichuan_zsj_2020.txt": {
        "template": "2019",
        "year": 2020,
        "agency": "淄川区招商局",
        "title": "淄川区招商局2020年政府信息公开工作年度报告",
        "cells": {
            "s2.procurement.projects": 221,
            "s2.procurement.amount": 26.8,  # printed 26.8万元
            "s2.licensing.prior": 0,
            "s3.new_received.natural_person": 1,
            "s3.new_received.total": 1,
            "s3.granted.natural_person": 1,
            "s3.results_total.total": 1,
            "s3.carried_forward.total": 0,
            "s4.review.total": 0,
        },
        "rules": {"cell.format"},
    },
    "linzi_jixia_2020.txt": {
        "template": "2019",
        "year": 2020,
        "agency": "临淄区人民政府稷下街道办事处",
        "title": "临淄区人民政府稷下街道办事处2020年政府信息公开工作年度报告",
        "cells": {
            "s3.new_received.natural_person": 1,
            "s3.new_received.total": 1,
            "s3.unavailable_not_held.natural_person": 1,
            "s3.results_total.natural_person": 1,
            "s3.results_total.total": 1,
            "s3.rejected_confirmation.other_org": 0,  # printed 00
            "s3.granted.total": 0,
            "s3.carried_forward.total": 0,
        },
        "rules": {"cell.format"},
    },
    "tongjiang_gxj_2020.txt": {
        "template": "2019",
        "year": 2020,
        "agency": "同江市工业信息化科技局",
        "title": "同江市工业信息化科技局2020年政府信息公开工作年度报告",
        "cells": {
            "s2.licensing.change": 2,  # printed +2
            "s2.other_services.change": 1,  # printed +1
            "s2.penalties.change": 3,  # printed +3
            "s2.coercion.change": 0,
            "s3.new_received.total": 0,
            "s3.partially_granted.total": 0,  # the template typo 只记这一情形
        },
        "rules": set(),
    },
    "huaian_city_2024.pdf": {
        "template": "2021",
        "year": 2024,
        "agency": "淮安市人民政府",
        "title": "淮安市人民政府2024年政府信息公开工作年度报告",
        "cells": {
            "s2.regulations.issued": 1,
            "s2.regulations.in_force": 11,
            "s2.normative_docs.repealed": 26,
            "s2.licensing.decisions": 447228,
            "s2.penalties.decisions": 3985758,
            "s2.fees.amount": 96171.6,
            "s3.new_received.natural_person": 3001,
            "s3.new_received.total": 3119,
            "s3.carried_over.total": 34,
            "s3.partially_granted.natural_person": 447,  # label broken over two lines
            "s3.denied_inquiry.natural_person": 105,
            "s3.unavailable_not_held.total": 769,  # last row on page 4
            # second page of the split table (page 5)
            "s3.unavailable_needs_creation.natural_person": 11,
            "s3.rejected_petition.business": 6,
            "s3.rejected_petition.total": 62,
            "s3.other_no_correction.total": 71,
            "s3.other_no_fee.natural_person": 6,
            "s3.other_other.total": 110,
            "s3.results_total.natural_person": 2932,
            "s3.results_total.total": 3050,
            "s3.carried_forward.natural_person": 103,
            "s4.review.upheld": 72,
            "s4.review.total": 351,
            "s4.litigation_direct.total": 26,
            "s4.litigation_after_review.pending": 6,
            "s4.litigation_after_review.total": 20,
        },
        "rules": set(),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_parses(samples_dir, name):
    exp = EXPECTED[name]
    pr = parse_bytes(read_sample(name), name)
    assert pr.error is None
    assert (pr.template, pr.year, pr.agency, pr.title) == (
        exp["template"],
        exp["year"],
        exp["agency"],
        exp["title"],
    )
    assert set(pr.cells) == set(cell_keys(exp["template"]))
    assert {k: pr.cells[k] for k in exp["cells"]} == exp["cells"]
    assert None not in pr.cells.values()  # every cell of these reports is printed
    assert {f["rule"] for f in pr.findings} == exp["rules"]
