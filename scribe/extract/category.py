"""The dispute category (纠纷类型) from the MoJ statistics list, by weighted keywords.

A category is only proposed when its keywords clearly dominate; otherwise the field stays
missing for staff to choose. Keyword weights reflect how specific a word is: 离婚 settles a
marriage dispute, 钱 says nothing. Words every story holds (老板, 公司, 上班, 孩子, 老人: a shop has
a 老板, anyone goes to work or has a child) are no evidence of any category and are not listed.

Three categories are disputes *with* a kind of organisation (domain.md's rows): 医疗 with a medical
provider, 物业 with a property-service company, 旅游 with a travel agency. When the session names the
hearing's applicant and respondent and neither is of that kind (by name, occupation or employer),
that category is not proposed: a patient's 医院 and 手术 in a fall at a supermarket are the injury's
story, not a medical dispute; a property company that is only 第三人 does not make two neighbours'
quarrel a 物业 dispute.
"""

from __future__ import annotations

from dataclasses import dataclass

from scribe.casefile import DISPUTE_CATEGORIES

CATEGORIES = DISPUTE_CATEGORIES

KEYWORDS: dict[str, dict[str, float]] = {
    "婚姻家庭": {"离婚": 3, "夫妻": 2, "结婚": 2, "抚养": 2, "抚养费": 3, "赡养": 3, "彩礼": 3,
                "共同财产": 3, "婚后": 2, "继承": 2, "遗产": 2, "分家": 2},
    "邻里": {"邻居": 3, "院墙": 3, "围墙": 3, "隔壁": 2, "噪音": 2, "排水": 2, "滴水": 2, "通行": 1,
            "相邻": 3, "占道": 1, "楼上": 1, "楼下": 1, "漏水": 1},
    "房屋宅基地": {"宅基地": 3, "房屋": 1, "建房": 2, "盖房": 2, "房产证": 2, "产权": 1},
    "合同": {"借款": 2, "欠条": 2, "借条": 2, "合同": 2, "违约": 2, "货款": 2, "租金": 2, "定金": 2},
    "生产经营": {"合伙": 2, "经营": 1, "生意": 1, "股份": 2},
    "损害赔偿": {"赔偿": 1, "受伤": 2, "医药费": 2, "误工费": 2, "咬伤": 3, "损坏": 1},
    "山林土地": {"林地": 3, "山林": 3, "地界": 2, "界址": 2},
    "征地拆迁": {"拆迁": 3, "征地": 3, "补偿款": 1, "安置": 2},
    "环境污染": {"污染": 3, "异味": 2, "排污": 3, "粉尘": 2},
    "劳动争议": {"工资": 2, "加班": 2, "劳动合同": 3, "辞退": 3, "解除劳动": 3, "社保": 2,
                "经济补偿": 2, "工伤": 3, "劳动仲裁": 3},
    "消费": {"退货": 3, "商家": 2, "消费者": 3, "质量问题": 2, "退款": 2},
    "医疗": {"医院": 2, "手术": 2, "医疗事故": 3, "误诊": 3},
    "道路交通事故": {"交通事故": 3, "撞": 1, "追尾": 3, "交警": 2, "电动车": 1},
    "物业": {"物业费": 3, "物业": 2, "业主": 2},
    "拖欠农民工工资": {"农民工": 3, "包工头": 3, "工地": 2, "工程款": 2},
    "旅游": {"旅行社": 3, "导游": 3, "旅游": 2},
    "电子商务": {"网购": 3, "网店": 3, "平台": 1, "快递": 1},
    "土地承包经营权": {"承包地": 3, "土地承包": 3, "流转": 2},
    "村务管理": {"村委会": 2, "村务": 3, "村集体": 2},
}

# 拖欠农民工工资 is a kind of wage arrears: it wins over 劳动争议 only with its own keywords.
_MIN_SCORE = 3.0
_CHILD_SHARE = 0.4
_TIE = 0.9
# specific -> general (纠纷类型 rows that are a kind of another row)
PARENT = {
    "拖欠农民工工资": "劳动争议", "土地承包经营权": "合同", "房屋宅基地": "邻里", "道路交通事故": "损害赔偿",
    "医疗": "损害赔偿", "物业": "合同", "消费": "合同", "旅游": "消费", "电子商务": "消费", "征地拆迁": "山林土地",
}
_MIN_SHARE = 0.4
# category -> words naming its counterparty in a party's name, occupation or employer
COUNTERPARTY: dict[str, tuple[str, ...]] = {
    "医疗": ("医院", "诊所", "卫生院", "卫生室", "口腔", "医疗", "医生", "护士"),
    "物业": ("物业",),
    "旅游": ("旅行社", "旅游"),
}


@dataclass(frozen=True)
class CategoryGuess:
    category: str
    score: float
    share: float  # of all keyword weight found
    hits: tuple[str, ...]  # the keywords that matched


def guess_category(text: str, main_parties: list[str] | None = None) -> CategoryGuess | None:
    """``main_parties``: for a hearing whose session names both sides, the applicants' and
    respondents' descriptions (name, occupation, employer); None when not known (a consultation)."""
    scores: dict[str, float] = {}
    hits: dict[str, list[str]] = {}
    for category, words in KEYWORDS.items():
        if main_parties and category in COUNTERPARTY and not any(
                w in party for party in main_parties for w in COUNTERPARTY[category]):
            continue  # a dispute with a kind of organisation no side of this hearing is
        for word, weight in words.items():
            n = text.count(word)
            if n:
                # diminishing returns: a word said ten times is not ten times the evidence
                scores[category] = scores.get(category, 0.0) + weight * min(n, 3)
                hits.setdefault(category, []).append(word)
    if not scores:
        return None
    # The most specific category with real evidence of its own wins over the general one it is a
    # kind of (a homestead boundary is a 房屋宅基地 dispute even between neighbours): the general
    # category's evidence then counts for the specific one.
    for child in sorted(scores, key=lambda c: -scores[c]):
        parent = PARENT.get(child)
        if parent in scores and child in scores and scores[child] >= _MIN_SCORE \
                and scores[child] >= _CHILD_SHARE * scores[parent]:
            scores[child] += scores.pop(parent)
    best = max(scores, key=lambda c: scores[c])
    total = sum(scores.values())
    share = scores[best] / total
    if scores[best] < _MIN_SCORE or share < _MIN_SHARE:
        return None
    runner_up = max((v for c, v in scores.items() if c != best), default=0.0)
    if runner_up >= _TIE * scores[best]:
        return None  # a tie is the reviewer's to settle, never a dictionary-order pick
    return CategoryGuess(best, scores[best], round(share, 3), tuple(hits[best]))
