"""What came out of a hearing, decided from the whole of it, with the words that show it.

达成协议 (agreed, written), 部分达成 (some issues agreed, others not), 调解不成 (no agreement),
调解终止 (ended early: a party withdrew, left, sued), 口头协议 (简易调解: agreed orally, no written
agreement). A statement counts only when it is said as a fact: "达不成就去法院" and "如果同意的话"
are conditions, "有没有达成" a question, "没有达成" a negation, and a negated agreement is a failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scribe.extract import acts
from scribe.extract.clauses import Clause, clauses_of
from scribe.extract.dialogue import Dialogue

AGREED = "达成协议"
PARTIAL = "部分达成"
FAILED = "调解不成"
ENDED = "调解终止"
ORAL = "口头协议"
NO_AGREEMENT = (FAILED, ENDED)

# agreement words, and the negated / impossible forms that say the opposite
_AGREE = r"(?:达成|谈成|调成|谈拢|说定|说到一块|说到一起|定下来|一致)"
FAIL_RE = re.compile(
    rf"(?:没有?|未能?|不能|无法|没法|没能)\s*{_AGREE}|(?:达|谈|调|说)不(?:成|拢|到一块|到一起|下去)|"
    r"调解不成|分歧(?:太|过|比较|很|还是)?大|各执一词|调解失败|没成功|不成功"
)
END_RE = re.compile(r"终止(?:调解|本次调解)?|调解终止|撤回(?:调解)?申请|撤回调解|撤诉|"
                    r"^\s*(?:那|好)?(?:我|我们)?(?:就|还是)?撤回(?:了|吧)?\s*$|不调了|不再调解|不同意继续调解|退出调解|自行离开|离开调解室")
AGREE_RE = re.compile(
    rf"(?<![没未不能])达成(?:了)?(?:如下|以下|下列)?(?:调解)?(?:协议|一致)|(?:就|那就)(?:这么|这样)(?:定|办)(?:了)?|说定了|定下来了|签(?:订)?(?:调解)?协议"
)
ORAL_RE = re.compile(r"口头协议|口头达成|(?:不用|不需要|不必|不另外|就不另外|不再)\s*(?:另外)?\s*(?:写|签|出具|做)\s*(?:书面)?协议|当场(?:就)?(?:履行|兑现)")
WHOLE_RE = re.compile(r"今天(?:这个)?(?:的)?调解|这次(?:的)?调解|本次调解|这个调解|今天这个事|今天就|今天看来|调解不成|调解失败")
# "方老板这部分没谈成" / "误工费的部分没有达成一致": a failure said of one part of the dispute
PART_RE = re.compile(r"(?:这|那|的|一|两|二|三|几|另外|其他|其余|剩下的?)(?:部分|块|一块|项|一项|方面|条)|"
                     r"(?:另外|其他|其余|剩下的?)[两二三几]?(?:个|项)|部分")
REMEDY_RE = re.compile(r"法院|起诉|诉讼|仲裁|打官司|告(?:他|她|对方)")


@dataclass(frozen=True)
class Outcome:
    outcome: str | None
    evidence: tuple[Clause, ...]
    reason: Clause | None
    remedies: tuple[Clause, ...]


def _is_statement(c: Clause, m: re.Match[str]) -> bool:
    text = c.text
    if acts.is_question(text) and not acts.is_question(text[: m.end()]) and m.end() < len(text) - 2:
        pass
    elif acts.is_question(text):
        return False
    before = text[: m.start()]
    # a condition scopes over its sentence: "你要是坚持这个，今天可能就谈不拢" (the clause before)
    opened = _sentence_before(c)
    if acts.CONDITION_RE.search(opened) and re.search(r"就|那|可能|恐怕|只能", before):
        return False  # the failure is the consequence of the condition said before it
    if acts.CONDITION_RE.search(before) or acts.CONDITION_RE.search(text[m.end(): m.end() + 3]):
        return False
    # "达不成就去法院": a consequence after 就 makes the first half a condition
    return not re.match(r"\s*(?:的话|就|那就|我就|只能|，就|可以|的可以|也可以|再)", text[m.end(): m.end() + 4])


def _sentence_before(c: Clause) -> str:
    """The words of the same sentence said before the clause (back to the last full stop)."""
    whole = c.utt.text[: c.a]
    stops = [whole.rfind(ch) for ch in "。！？!?；;"]
    return whole[max(stops) + 1:] if max(stops) >= 0 else whole


def decide_outcome(dialogue: Dialogue, has_terms: bool) -> Outcome:
    fails: list[Clause] = []
    ends: list[Clause] = []
    agrees: list[Clause] = []
    orals: list[Clause] = []
    remedies: list[Clause] = []
    for u in dialogue:
        for c in clauses_of(u):
            for rx, bucket in ((FAIL_RE, fails), (END_RE, ends), (AGREE_RE, agrees), (ORAL_RE, orals)):
                m = rx.search(c.text)
                if m is None or not _is_statement(c, m):
                    continue
                if bucket is ends and not u.is_staff and not re.search(r"不调|撤回|撤诉", m.group(0)):
                    continue
                if bucket is agrees and (acts.negated_before(c.text, m.start()) or FAIL_RE.search(c.text)):
                    continue
                bucket.append(c)
            if u.is_staff and REMEDY_RE.search(c.text) and not re.search(r"司法确认|强制执行", c.text):
                remedies.append(c)
    staff_ends = [c for c in ends if c.utt.is_staff]
    staff_fails = [c for c in fails if c.utt.is_staff]
    later_remedies = lambda after: tuple(r for r in remedies if r.utt.start >= after.utt.start)[:3]  # noqa: E731
    part_fails = [c for c in staff_fails if PART_RE.search(c.text)]
    whole_fail = [c for c in staff_fails if WHOLE_RE.search(c.utt.text) and c not in part_fails]
    if has_terms and part_fails and (not whole_fail or part_fails[-1].utt.start >= whole_fail[-1].utt.start):
        # the mediator sums up what was agreed and which part was not
        ev = part_fails[-1]
        return Outcome(PARTIAL, (ev,), ev, later_remedies(ev) or tuple(remedies[-2:]))
    if staff_ends and not (has_terms and agrees and agrees[-1].utt.start > staff_ends[-1].utt.start):
        ev = staff_ends[-1]
        return Outcome(ENDED, (ev,), _reason(ev, fails, ends), later_remedies(ev) or tuple(remedies[-2:]))
    if whole_fail and not (has_terms and not WHOLE_RE.search(whole_fail[-1].text) and agrees):
        # the statement of the outcome ("调不成了") is the evidence; "分歧太大" is its reason
        declared = [c for c in whole_fail if not re.search(r"分歧|各执一词", c.text)]
        ev = (declared or whole_fail)[-1]
        return Outcome(FAILED, (ev,), _reason(ev, fails, ends), later_remedies(ev) or tuple(remedies[-2:]))
    if has_terms and staff_fails:
        ev = staff_fails[-1]
        return Outcome(PARTIAL, (ev,), ev, later_remedies(ev) or tuple(remedies[-2:]))
    if has_terms and orals:
        return Outcome(ORAL, (orals[-1],), None, ())
    if has_terms:
        return Outcome(AGREED, tuple(agrees[-1:]), None, ())
    if staff_fails:
        declared = [c for c in staff_fails if not re.search(r"分歧|各执一词", c.text)]
        ev = (declared or staff_fails)[-1]
        return Outcome(FAILED, (ev,), _reason(ev, fails, ends), later_remedies(ev) or tuple(remedies[-2:]))
    return Outcome(None, (), None, ())


def _reason(ev: Clause, fails: list[Clause], ends: list[Clause]) -> Clause | None:
    """Why: the mediator's statement of the disagreement, else the failure statement itself."""
    for c in reversed(fails):
        if c.utt.is_staff and re.search(r"分歧|对.{1,12}(?:问题|意见)|不同意|不接受|因为|由于", c.utt.text):
            return c
    for c in reversed(ends):
        if re.search(r"离开|不同意|不调|撤回", c.text):
            return c
    return ev
