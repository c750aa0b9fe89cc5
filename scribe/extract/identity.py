"""Basic details a person states about themselves when staff did not type them.

Only a person's *own* turns count (the speaker mapped to that party), and only explicit
self-statements ("我叫张三", "我今年四十五岁", "我住在…", "电话是…"). Staff asking "您叫什么名字"
is not evidence of anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scribe.extract.dialogue import Utterance
from scribe.extract.quantities import parse_numeral

_PATTERNS: dict[str, re.Pattern[str]] = {
    "name": re.compile(r"我(?:叫|的名字叫|名字是|是)([\u4e00-\u9fff]{2,4}?)(?=[，,。！!；;\s]|$)"),
    "age": re.compile(r"我(?:今年)?([\d一二两三四五六七八九十]{1,4})岁"),
    "address": re.compile(r"我(?:家)?(?:住在|住|家在)([\u4e00-\u9fff\d]{3,30}?(?:号|村|组|室|小区|楼|栋|单元|社区))"),
    "phone": re.compile(r"(?:电话|手机)(?:号码)?(?:是|号是)?[:：]?\s*(1[3-9]\d{9})"),
    "occupation": re.compile(r"我(?:是|在)[\u4e00-\u9fff]{0,10}?(?:做|当|干)([\u4e00-\u9fff]{2,6}?)(?:的|工作)"),
}
_NOT_NAMES = {"申请人", "被申请人", "咨询人", "代理人", "这样的", "来咨询", "来问问"}


@dataclass(frozen=True)
class Statement:
    field: str
    value: str | int
    utterance: Utterance
    quote: str


def self_statements(own_turns: list[Utterance]) -> dict[str, Statement]:
    found: dict[str, Statement] = {}
    for u in own_turns:
        for field, pattern in _PATTERNS.items():
            if field in found:
                continue
            m = pattern.search(u.text)
            if not m:
                continue
            value: str | int = m.group(1)
            if field == "name" and value in _NOT_NAMES:
                continue
            if field == "age":
                n = parse_numeral(str(value))
                if n is None or not 0 < n < 120:
                    continue
                value = int(n)
            found[field] = Statement(field, value, u, m.group(0))
    return found
