"""Legal bases cited aloud: 《民法典》第一千零七十九条, 劳动合同法第30条, 民法典第1079条第二款.

People rarely say the book-title marks, and the recogniser writes article numbers as digits or
characters, so a known-statute list catches the unbracketed form; either way the citation is
printed in the canonical form: 《中华人民共和国民法典》 shortened to 《民法典》, article number in
Chinese numerals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cn2an

from scribe.extract.quantities import NUMERAL, parse_numeral

# Statutes staff cite most at grassroots desks (short names as spoken).
KNOWN_STATUTES = (
    "民法典",
    "劳动合同法",
    "劳动法",
    "劳动争议调解仲裁法",
    "保障农民工工资支付条例",
    "人民调解法",
    "民事诉讼法",
    "消费者权益保护法",
    "道路交通安全法",
    "土地管理法",
    "农村土地承包法",
    "妇女权益保障法",
    "未成年人保护法",
    "老年人权益保障法",
    "治安管理处罚法",
    "法律援助法",
    "社会保险法",
    "工伤保险条例",
    "物业管理条例",
    "反家庭暴力法",
)

_ARTICLE = rf"第\s*({NUMERAL})\s*条(?:\s*第\s*({NUMERAL})\s*款)?"
_BRACKETED_RE = re.compile(rf"《([^》]{{2,40}})》\s*(?:{_ARTICLE})?")
_BARE_RE = re.compile(
    rf"(?:中华人民共和国)?({'|'.join(sorted(KNOWN_STATUTES, key=len, reverse=True))})\s*(?:{_ARTICLE})?"
)


@dataclass(frozen=True)
class LegalBasis:
    statute: str  # short name, e.g. 民法典
    article: int | None
    paragraph: int | None
    start: int
    end: int
    phrase: str

    @property
    def citation(self) -> str:
        text = f"《{self.statute}》"
        if self.article:
            text += f"第{cn2an.an2cn(self.article)}条"
        if self.paragraph:
            text += f"第{cn2an.an2cn(self.paragraph)}款"
        return text


def find_legal_bases(text: str) -> list[LegalBasis]:
    found: list[LegalBasis] = []
    spans: list[tuple[int, int]] = []
    for regex in (_BRACKETED_RE, _BARE_RE):
        for m in regex.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in spans):
                continue
            statute = m.group(1).removeprefix("中华人民共和国")
            article = parse_numeral(m.group(2)) if m.group(2) else None
            paragraph = parse_numeral(m.group(3)) if m.group(3) else None
            spans.append((m.start(), m.end()))
            found.append(
                LegalBasis(
                    statute=statute,
                    article=int(article) if article else None,
                    paragraph=int(paragraph) if paragraph else None,
                    start=m.start(),
                    end=m.end(),
                    phrase=m.group(0),
                )
            )
    found.sort(key=lambda b: b.start)
    return found


_BARE_ARTICLE_RE = re.compile(rf"(?:这部法|这个法|该法|本法|这部条例|这个条例|该条例)?\s*{_ARTICLE}")


def cited_in_order(texts: list[str]) -> list[tuple[int, LegalBasis]]:
    """Citations across several turns: an article said without its statute ("抚养费是第一千零八十五条",
    "这部法第十七条") belongs to the statute named last before it."""
    out: list[tuple[int, LegalBasis]] = []
    last: str | None = None
    for i, text in enumerate(texts):
        named = find_legal_bases(text)
        spans = [(b.start, b.end) for b in named]
        bare = []
        for m in _BARE_ARTICLE_RE.finditer(text):
            if any(a <= m.start() < b or a < m.end() <= b for a, b in spans):
                continue
            bare.append(m)
        events = sorted([(b.start, "named", b) for b in named] + [(m.start(), "bare", m) for m in bare],
                        key=lambda e: e[0])
        for _, kind, x in events:
            if kind == "named":
                last = x.statute
                out.append((i, x))
            elif last is not None:
                article = parse_numeral(x.group(1))
                paragraph = parse_numeral(x.group(2)) if x.group(2) else None
                if article:
                    out.append((i, LegalBasis(last, int(article), int(paragraph) if paragraph else None,
                                              x.start(), x.end(), x.group(0))))
    return out
