"""An operator corrects a verdict's facts with a reason: audited, effective at once, shown as a correction."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from storage.models import AgencyYearStatus, OperatorAction, VerdictCorrection
from tests.web.conftest import csrf_from, login

REASON = "PubDate 元数据是栏目迁移时的导入时间；页面落款日期为 2022年1月20日（见存档副本）"


def _correct(client, **form):  # noqa: ANN001, ANN003, ANN202
    token = csrf_from(client.get("/agency/zichuan-zsj").text)
    return client.post(
        "/agency/zichuan-zsj/2021/correct", data={"csrf": token, **form}, follow_redirects=False
    )


def test_a_date_correction_changes_the_verdict_at_once_and_is_shown(client, seeded):
    with Session(seeded.engine) as s:
        assert s.get(AgencyYearStatus, ("zichuan-zsj", 2021)).status == "late"
    login(client)
    r = _correct(client, kind="date", published="2022-01-20", reason=REASON)
    assert r.status_code == 303
    with Session(seeded.engine) as s:
        row = s.get(AgencyYearStatus, ("zichuan-zsj", 2021))
        assert (row.status, row.published, row.published_evidence) == (
            "on_time",
            date(2022, 1, 20),
            "operator",
        )
        (c,) = row.evidence["corrections"]
        assert (c["kind"], c["reason"], c["by"]) == ("date", REASON, "alice")
        assert row.evidence["published"]["quote"] == REASON
        acts = s.exec(select(OperatorAction).where(OperatorAction.action == "correct")).all()
        assert [(a.username, a.agency_id, a.year, a.note) for a in acts] == [
            ("alice", "zichuan-zsj", 2021, REASON)
        ]
    page = client.get("/agency/zichuan-zsj").text
    assert "操作员更正" in page and "发布日期有误" in page and "2022年1月20日" in page


def test_a_later_correction_of_the_same_kind_replaces_the_earlier(client, seeded):
    login(client)
    assert _correct(client, kind="date", published="2022-01-20", reason="第一次").status_code == 303
    assert _correct(client, kind="date", published="2022-02-10", reason="更正上一条").status_code == 303
    with Session(seeded.engine) as s:
        active = s.exec(select(VerdictCorrection).where(VerdictCorrection.active == True)).all()  # noqa: E712
        assert [(c.published, c.reason) for c in active] == [(date(2022, 2, 10), "更正上一条")]
        assert s.get(AgencyYearStatus, ("zichuan-zsj", 2021)).status == "late"
        assert len(s.exec(select(VerdictCorrection)).all()) == 2  # the earlier one kept, inactive


def test_a_correction_needs_a_reason_a_login_and_a_token(client, seeded):
    token = csrf_from(client.get("/login").text)
    anonymous = client.post(
        "/agency/zichuan-zsj/2021/correct",
        data={"csrf": token, "kind": "date", "published": "2022-01-20", "reason": REASON},
        follow_redirects=False,
    )
    assert anonymous.status_code in (303, 401, 403)
    login(client)
    assert _correct(client, kind="date", published="2022-01-20", reason=" ").status_code == 400
    assert _correct(client, kind="date", published="not a date", reason=REASON).status_code == 400
    assert (
        _correct(
            client, kind="report", published="2022-01-20", reason=REASON, report_url="javascript:x"
        ).status_code
        == 400
    )
    assert _correct(client, kind="bogus", reason=REASON).status_code == 400
    with Session(seeded.engine) as s:
        assert s.exec(select(VerdictCorrection)).all() == []
