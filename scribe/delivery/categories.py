"""事件类型编码 for the GB/T 31000 record.

GB/T 31000 leaves the code table to each platform, so the codes below are this product's own
stable codes for the MoJ dispute categories (domain.md). A site maps them onto its platform's
table with ``SCRIBE_DELIVERY_CATEGORY_CODES`` ({"婚姻家庭": "<platform code>", ...}); the
payload always carries the category name as well, so a receiver can route by either.
"""

from __future__ import annotations

from collections.abc import Mapping

CATEGORY_CODES: dict[str, str] = {
    "婚姻家庭": "MS01",
    "邻里": "MS02",
    "房屋宅基地": "MS03",
    "合同": "MS04",
    "生产经营": "MS05",
    "损害赔偿": "MS06",
    "山林土地": "MS07",
    "征地拆迁": "MS08",
    "环境污染": "MS09",
    "劳动争议": "MS10",
    "消费": "MS11",
    "医疗": "MS12",
    "道路交通事故": "MS13",
    "物业": "MS14",
    "其他": "MS99",
    "拖欠农民工工资": "MS15",
    "旅游": "MS16",
    "电子商务": "MS17",
    "土地承包经营权": "MS18",
    "村务管理": "MS19",
}


def category_code(name: str | None, overrides: Mapping[str, str]) -> str | None:
    """The code for a category name: the site's own table first, then this product's."""
    if not name:
        return None
    key = name.removesuffix("纠纷")
    for table in (overrides, CATEGORY_CODES):
        if name in table:
            return table[name]
        if key in table:
            return table[key]
    return None
