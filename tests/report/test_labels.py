"""Label variants seen in published reports map to the right rows."""

import pytest

from crawler.reading.labels import match_s2_column, match_s2_item, match_s3_row, norm


@pytest.mark.parametrize(
    ("label", "row"),
    [
        ("一、本年新收政府信息公开申请数量", "new_received"),
        ("二、上年结转政府信息公开申请数量", "carried_over"),
        ("三、本年度办理结果（一）予以公开", "granted"),
        ("（二）部分公开（区分处理的，只记这一情形，不计其他情形）", "partially_granted"),
        ("（二）部分公开（区分处理的，只计这一情况，不计其他情况）", "partially_granted"),
        ("（三）不予公开 1．属于国家秘密", "denied_state_secret"),
        ("2.其他法律行政法规禁止公开", "denied_prohibited_by_law"),
        ("3.危及“三安全一稳定”", "denied_three_safeties"),
        ("5.属于三类内容事务信息", "denied_internal_affairs"),
        ("5.属于三类内部事务信息", "denied_internal_affairs"),
        ("6．属于四类过程性信息", "denied_process_info"),
        ("（四）无\n法提供 1.本机关不掌握相关政府信息", "unavailable_not_held"),
        ("2.没有现成信息需要另行制作", "unavailable_needs_creation"),
        ("1.信访举报投诉类申请", "rejected_petition"),
        ("2.重复申请", "rejected_duplicate"),
        ("4.无正当理由大量反复申请", "rejected_excessive"),
        ("5.要求行政机关确认或重新出\n具已获取信息", "rejected_confirmation"),
        ("（六）其他处理", "other"),
        ("三、本年度办理结果（六）其他处理", "other"),
        (
            "（六）其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            "other_no_correction",
        ),
        ("2、申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", "other_no_fee"),
        ("（六）其他处理3、其他", "other_other"),
        ("3.其他", "other_other"),
        ("（七）总计", "results_total"),
        ("四、结转下年度继续办理", "carried_forward"),
        ("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", None),
        ("申请人情况", None),
    ],
)
def test_s3_rows(label, row):
    assert match_s3_row(norm(label)) == row


@pytest.mark.parametrize(
    ("label", "item"),
    [
        ("规章", "regulations"),
        ("规 章", "regulations"),
        ("规范性文件", "normative_docs"),
        ("行政规范性文件", "normative_docs"),
        ("行政许可", "licensing"),
        ("其他对外管理服务事项", "other_services"),
        ("行政处罚", "penalties"),
        ("行政强制", "coercion"),
        ("行政事业性收费", "fees"),
        ("政府集中采购", "procurement"),
        ("第二十条第（一）项", None),
        ("信息内容", None),
        ("全年新增公开市政府规章", None),
    ],
)
def test_s2_items(label, item):
    assert match_s2_item(norm(label)) == item


@pytest.mark.parametrize(
    ("label", "col"),
    [
        ("本年新制作数量", "made"),
        ("本年新公开数量", "published"),
        ("对外公开总数量", "total_published"),
        ("上一年项目数量", "prior"),
        ("本年增/减", "change"),
        ("处理决定数量", "decisions"),
        ("本年处理决定数量", "decisions"),
        ("本年制发件数", "issued"),
        ("本年废止件数", "repealed"),
        ("现行有效件数", "in_force"),
        ("本年收费金额（单位：万元）", "amount"),
        ("采购项目数量", "projects"),
        ("采购总金额", "amount"),
        ("信息内容", None),
    ],
)
def test_s2_columns(label, col):
    assert match_s2_column(norm(label)) == col
