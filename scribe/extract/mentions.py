"""Who a clause is about: parties named (full name, given name, 老张 / 张师傅 / 小张, a company's
short name) or pointed at (我 = the speaker, 你 = the person addressed), resolved to party ids.

The forms of address are Mandarin's closed set of kin and courtesy titles, built from the
session file's names; nothing here knows any one hearing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scribe.casefile import CaseFile, Party, PartyRole

TITLES_AFTER = ("师傅", "阿姨", "大爷", "大妈", "大哥", "大姐", "先生", "女士", "经理", "老板", "总", "叔", "婶",
                "姐", "哥", "老师", "主任", "同志", "老汉", "奶奶", "爷爷", "伯", "家")
TITLES_BEFORE = ("老", "小", "阿")
ORG_SUFFIX = re.compile(r"(有限责任公司|股份有限公司|有限公司|公司|集团)$")
ORG_KIND = re.compile(r"物业|旅行社|医院|学校|超市|酒店|饭店|驾校|工厂|商店|合作社|银行|村委会|居委会|公司|工地|门店")
SELF = ("我们", "咱们", "我")
ADDRESSEE = ("您", "你")  # 你们 is plural: the other side, resolved by the term, not one person


@dataclass(frozen=True)
class Mention:
    party: str  # party id
    at: int
    end: int
    form: str  # name | pronoun


def principal(casefile: CaseFile, person_id: str | None) -> str | None:
    """The bound party someone speaks for: an agent or relative speaks for whom they represent."""
    if person_id is None:
        return None
    p = casefile.person(person_id)
    if isinstance(p, Party):
        if p.role.is_bound:
            return p.id
        if p.represents:
            return principal(casefile, p.represents)
    return None


class Names:
    def __init__(self, casefile: CaseFile) -> None:
        self.casefile = casefile
        forms: dict[str, set[str]] = {}
        for p in casefile.parties:
            owner = principal(casefile, p.id) if p.role in (PartyRole.AGENT, PartyRole.RELATIVE) else p.id
            owner = owner or p.id
            for f in _forms(p):
                forms.setdefault(f, set()).add(owner)
        # a form two people share (two 老张) names neither
        self.bound = tuple(p.id for p in casefile.bound_parties)
        self.forms = {f: next(iter(ids)) for f, ids in forms.items() if len(ids) == 1}
        self._re = re.compile("|".join(sorted(map(re.escape, self.forms), key=len, reverse=True))) if self.forms else None

    def display(self, party_id: str) -> str:
        p = self.casefile.person(party_id)
        return (p.name or p.role.value) if p else party_id

    def find(self, text: str) -> list[Mention]:
        if self._re is None:
            return []
        return [Mention(self.forms[m.group(0)], m.start(), m.end(), "name") for m in self._re.finditer(text)]


def _forms(p: Party) -> set[str]:
    name = (p.name or "").strip()
    if not name:
        return set()
    out = {name}
    core = ORG_SUFFIX.sub("", name)
    kinds = ORG_KIND.findall(name)
    if core != name or kinds:
        if len(core) >= 2:
            out.add(core)
            core2 = re.sub(r"(管理|服务)+$", "", core)
            for c in {core, core2}:
                if len(c) > 4:
                    out.add(c[-4:])  # 青溪途悦旅行社 -> 途悦旅行社 is said; a city prefix is not
        out.update(kinds)  # "物业这边", "旅行社那边": the kind of body, when only one party is one
    elif 2 <= len(name) <= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", name):
        surname, given = name[0], name[1:]
        if len(given) == 2:
            out.add(given)
        for t in TITLES_AFTER:
            out.add(surname + t)
        for t in TITLES_BEFORE:
            out.add(t + surname)
    return out
