"""Agreed terms as obligations: who owes what to whom, how much, by when, how and where, found
wherever they are said and kept only when they were agreed.

An *obligation frame* is a clause with an action verb of one of a few classes (pay, repair,
return, move out, apologise, stop doing, care for, do a formality, guarantee), its obligor (a
party named before the verb, or 我 / 你 resolved by who speaks and to whom), its amount,
deadline or schedule, and the clauses after it in the same sentence that only add manner or
place. A frame is *proposed* by its speaker; what the other side replies decides it:

- an assent (行 / 同意 / X就X) accepts it; a rejection, a correction or a counter-offer for the
  same obligation rejects it; a question, a conditional (如果…的话) or a negated verb is no
  commitment at all;
- the mediator's plain statement (not a suggestion, not a question) that nobody objects to is
  accepted ("dictated and not objected to"); a party's promise about their own conduct likewise;
  a party's demand on the other side needs the other side's assent;
- a later accepted frame for the same obligation (same obligor, same kind of act, same object)
  supersedes an earlier one: the correction replaces what it corrects instead of being added.

Every frame, with its status, is kept as a candidate for the reviewer.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache

from scribe.casefile import CaseFile
from scribe.extract import acts
from scribe.extract.clauses import Clause, clauses_of, sentences_of
from scribe.extract.dialogue import Dialogue, Utterance
from scribe.extract.mentions import ADDRESSEE, SELF, Mention, Names, principal
from scribe.extract.quantities import (Amount, Deadline, find_amounts, find_bare_amounts, find_deadlines, format_date,
                                       parse_numeral)

VERB_CLASSES: tuple[tuple[str, str], ...] = (
    # a waiver: a claim given up ("剩下的1600我就不要了", "加班费我不再主张了") binds the one who gives it up
    ("放弃", r"放弃|不再主张|不再要求|不再追究|不追究|不再追|(?:就|也)不要了|不要(?!再)[^，。了\s]{1,6}了|不再要|不再找[^，。]{0,6}要"),
    ("停止", r"不再|不得|停止|不准|不许|不要再|禁止|别再"),
    ("道歉", r"赔礼道歉|道歉|赔不是"),
    ("支付", r"赔偿|赔付|赔给|补偿|支付|付清|付给|付款|付|转给|转账|转帐|打给|打到|给付|结清|退还|退给|退|返还|"
             r"还清|还给|还钱|还(?=\s*[\d一二两三四五六七八九十])|缴纳|交纳|交(?=\s*[\d一二两三四五六七八九十])|补给|补|赔|转到|确认欠|确认拖欠|出(?=[\d一二两三四五六七八九十百千万半])|"
             r"给(?=[^，。]{0,14}?(?:[\d一二两三四五六七八九十百千万]+\s*(?:元|块|万)|[\d一二两三四五六七八九十][百千万]|钱|费))"),
    ("归还", r"归还|交还|退回|交付|交给|移交|送(?=给|到|回|过去|过来|[一二两三四五六七八九十半]+)"),
    ("搬离", r"搬离|搬出|搬走|腾退|腾出|迁出|挪走|移走|清走|清除|清理|拆除|拆掉"),
    ("维修", r"维修|修复|修缮|修好|修理|翻修|重修|重做|重新做|做好|施工|更换|(?:给|免费|重新|帮)换|换上|换新|恢复原状|砌好|重砌|砌|重建|修建|"
             r"截断|截掉|截(?!止|图|至|了)|锯掉|砍掉|修剪|剪掉|重铺|铺好|铺设|铺(?!子|面|位|了)|挖开|挖通|疏通|埋好|埋设"),
    ("删除", r"删除|删掉|删了|撤掉|撤下|撤销"),
    ("归属", r"归[^，。；\s]{1,8}所有|由[^，。；\s]{1,6}(?:继续)?(?:居住|使用|所有)"),
    ("照料", r"赡养|照顾|照料|陪护|护理|抚养|看护"),
    # a child's time with each parent (探视): picked up, kept for so many days, with one parent on
    # given days ("周六上午9点在东门接", "初一到初三跟妈妈", "暑假让爸爸带十五天")
    ("探视", r"探视|探望|接(?=[^，。\s]{0,2}(?:周[一二三四五六日天末]|礼拜|星期|孩子|走|回来|过去))|"
             r"(?:跟|随)(?=妈妈|爸爸|母亲|父亲)|带(?=[\d一二两三四五六七八九十半]+(?:天|周|个?星期|个?礼拜))"),
    ("办理", r"办理|开具|出具|配合|注销|过户|喷涂|喷上|刷上|安装|装上|解除"),
    ("担保", r"担保|代付|代为支付|代为偿还|先行清偿|直接扣"),
)
_VERB_RE = [(name, re.compile(p)) for name, p in VERB_CLASSES]
# Clauses about remedies and paperwork are not terms: the 30-day 司法确认 window, suing, the
# closing logistics (printing, signing, photographs).
NOT_A_TERM = re.compile(r"不再执行|不再履行|不再适用|作废|失效|焦点|争议的|分歧|差距|相差|司法确认|强制执行|起诉|法院|仲裁|诉讼|打印|签字|签名|按手印|按指印|盖章|拍照|复印|录音|录像|笔录")
PROMISE = re.compile(r"同意|可以|愿意|保证|答应|会|能|负责|一定|马上|现在就|今天就|先")
MANNER_RE = re.compile(r"微信转账|微信转帐|微信|支付宝|银行转账|打到[^，。]{0,8}卡|转到[^，。]{0,8}卡|银行卡|现金|当面|一次性|分[\d一二两三四五六七八九十]+(?:期|次)")
PLACE_RE = re.compile(r"(?:在|到)([\u4e00-\u9fff]{2,14}?(?:司法所|调解室|调解委员会|村委会|居委会|营业厅|服务中心|现场))")
ACCELERATION_RE = re.compile(r"(任何一期|任一期|有一期|哪一期|逾期|没有按时|没按时|未按时|未按期).{0,20}(全部|一次|剩下|剩余|到期)")
ENUM_RE = re.compile(r"^(?:第[一二三四五六七八九十\d]+(?:条|项|点)?[、，,.．：:\s]*|[一二三四五六七八九十]+[、.．：:\s]+(?![月号日])|\d+[、.．](?!\d)|首先|其次|最后|另外)")
# "逾期…五个工作日内": a duration counted from an event, not from the session date
EVENT_ANCHOR = re.compile(r"逾期|没有?(?:按时)?(?:付|给|还)|未(?:按时|按期)?(?:付|支付|履行)|一旦|收到|之后|以后|后(?=[^，。]{0,4}(?:日|天))")
GENERIC_NOUNS = frozenset(("东西", "事情", "事", "问题", "时候", "意思", "情况", "这边", "那边", "人家", "钱"))
TOTAL_RE = re.compile(r"一共|共计|总共|合计|总计|总额|共")
# "我最多给三千" / "顶多两千": a ceiling offered while haggling binds nobody until the other side takes it
CAP_RE = re.compile(r"最多|顶多|至多|最多只能|大不了|封顶")
THIRD_PERSON_RE = re.compile(r"(?:要|让|叫)(?:他|她|对方|人家)(?:们)?(?:来|去|再|也|都|全)?$")
DEMAND_RE = re.compile(r"要求|希望|诉求|想要|主张|提出|(?:就|只)?要(?=他|她|对方|人家)|让(?=他|她|对方)")
ASKING_RE = re.compile(r"什么时候|多少钱|几号|哪天|怎么|能不能|行不行|可不可以")
BOTH_RE = re.compile(r"双方|各方|两家|你们两(?:个|位|家)|你们双方|三方|四方")
WH_RE = re.compile(r"哪(?:个|天|里|儿|一)|什么|几点|几号|多少|[吗呢？?]$")
VISIT_MATTER_RE = re.compile(r"探视|探望|看孩子|见孩子")  # the hearing is about a child's visits
RECUR_RE = re.compile(r"每|隔|周末|礼拜|星期|寒假|暑假|春节|过年|节假日")  # when a visit recurs
PERIODIC_RE = re.compile(r"每(个)?(月|年|季度|周|星期)")


@lru_cache(maxsize=1)
def _posseg():  # type: ignore[no-untyped-def]
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


@dataclass(frozen=True)
class Frame:
    kind: str  # verb class
    verb: str
    obligors: tuple[str, ...]  # party ids
    obligees: tuple[str, ...]
    clauses: tuple[Clause, ...]
    amounts: tuple[Amount, ...]
    deadlines: tuple[Deadline, ...]
    schedule: tuple[tuple[dt.date, Decimal], ...]
    object_head: str | None
    speaker_party: str | None
    staff: bool
    question: bool
    conditional: bool
    negated: bool
    suggestion: bool
    periodic: bool
    acceleration: bool = False
    extra: tuple[Clause, ...] = ()  # clauses borrowed from before (the amount "剩下10360")
    status: str = "proposed"  # used | accepted | rejected | superseded | proposed | question | conditional
    reason: str = ""
    by: tuple[Clause, ...] = field(default=())  # the reply that decided it
    arranged: tuple[Clause, ...] = ()  # when/where it changes hands, said for several terms (handover.py)
    scheduled: tuple[Clause, ...] = ()  # where its instalment dates were said, when apart from it (instalments.py)
    also: tuple[Clause, ...] = ()  # an earlier statement of it whose date (and manner) it keeps
    how: tuple[Clause, ...] = ()  # the obligor's own words on how it pays, said after agreeing

    @property
    def utt(self) -> Utterance:
        return self.clauses[0].utt

    @property
    def text(self) -> str:
        return _joined(self.utt, list(self.clauses))

    @property
    def written(self) -> str:
        """The frame's words with a comma where only a pause separated two clauses."""
        u = self.utt
        out = ""
        for k, c in enumerate(self.clauses):
            if k:
                gap = u.text[self.clauses[k - 1].b:c.a]
                out += gap if gap.strip() else "，"
            out += c.text
        return out

    @property
    def amount(self) -> Amount | None:
        return self.amounts[-1] if self.amounts else None

    @property
    def deadline(self) -> Deadline | None:
        future = [d for d in self.deadlines]
        return max(future, key=lambda d: d.date) if future else None

    def key(self) -> tuple:
        return (frozenset(self.obligors), self.kind)


def frames_of(dialogue: Dialogue, casefile: CaseFile, names: Names) -> list[Frame]:
    utts = list(dialogue)
    out: list[Frame] = []
    addressee: str | None = None
    last_party: str | None = None
    carried: list[str] = []  # obligor named earlier in the same turn (ellipsis in a summary)
    carried_deadline: list[Deadline] = []
    for idx, u in enumerate(utts):
        if idx and utts[idx - 1].speaker != u.speaker:
            carried, carried_deadline = [], []
        speaker_party = principal(casefile, _person_id(casefile, u))
        # the person addressed: named at the start of the turn ("郑先生，…"), else the last other party who spoke
        vocative = [m for m in names.find(u.text[:8]) if m.party != speaker_party]
        addressee = vocative[0].party if vocative else (last_party if last_party != speaker_party else addressee)
        clauses = clauses_of(u)
        carried_deadline = []  # a deadline carries within one utterance only
        prev_clauses = _turn_before(utts, idx)
        if not u.is_staff and idx and utts[idx - 1].is_staff and acts.is_question(utts[idx - 1].text.rstrip("。")) \
                and not prev_clauses:
            # the answer to the mediator's "那680呢": "我现在就微信退给他" pays the amount asked about
            prev_clauses = clauses_of(utts[idx - 1])
        for sentence in sentences_of(clauses):
            frames = _frames_in_sentence(sentence, u, casefile, names, speaker_party, addressee, carried,
                                         carried_deadline, prev_clauses)
            out.extend(frames)
            if frames:
                carried = list(frames[-1].obligors)
                if frames[-1].deadlines:
                    carried_deadline = list(frames[-1].deadlines)
            elif u.is_staff:
                # "白振宇欠的物业费…一共5040元。分两次交…": the party a sentence is about stays the
                # topic of the next one in the same turn
                topic = [m for m in names.find(u.text[sentence[0].a:sentence[-1].b])
                         if not _marked_obligee(u.text[sentence[0].a:sentence[-1].b], m)]
                if topic:
                    carried = [topic[0].party]
            prev_clauses = prev_clauses + sentence
        if speaker_party is not None:
            last_party = speaker_party
    if not any(VISIT_MATTER_RE.search(u.text) for u in utts):
        # "孩子一直跟妈妈住" in a hearing about something else is the story, not a visiting schedule
        out = [f for f in out if f.kind != "探视"]
    return out


# a verb of opinion after a person: that person holds the view; the act is someone else's
OPINION_RE = re.compile(r"(?:觉得|认为|希望|要求|主张)")


def _person_id(casefile: CaseFile, u: Utterance) -> str | None:
    return casefile.speakers.get(u.speaker) if u.speaker else None


def _counted_from_event(sentence: str, phrase: str) -> bool:
    """"合格后三日内", "收到货款五个工作日内": a duration counted from an event said before it, which
    no calendar date stands for (the anchor may run into the phrase: 后 + 三日)."""
    at = sentence.find(phrase)
    if at > 0 and phrase == "当天" and re.match(r"[\u4e00-\u9fff]", sentence[at - 1]) \
            and sentence[at - 1] not in "那这今就也是在":
        return True  # "第一笔两万到账当天": the day of what is said just before it
    return at >= 0 and any(m.start() < at for m in EVENT_ANCHOR.finditer(sentence[: at + len(phrase)]))


def _timed_from_event(text: str) -> bool:
    """The restatement times it from an event ("合格后三日内…付清尾款"): the date resolved from an
    earlier statement ("我三天之内把八千五转给他") counted from the session instead, and loses."""
    return any(_from_event(d) and _counted_from_event(text, d.phrase)
               for d in find_deadlines(text, dt.date(2000, 1, 1)))


def _timed_in_own_words(frame: Frame) -> bool:
    """A restatement that says a time in its own words, or after a time said earlier in its
    sentence ("那就改成25号。小李25号之前把电费结清，人搬走"), is timed by it: it takes no date
    from the earlier statement it restates (which may be the very date it corrects)."""
    said = _sentence_before(frame.clauses[0]) + "，".join(c.text for c in frame.clauses)
    return bool(find_deadlines(said, dt.date(2000, 1, 1)))


def _sentence_before(clause: Clause) -> str:
    """What its sentence says before a clause ("小吴6号之前把水电燃气费结清，人搬走": a date said
    there times the clauses after it, so a clause restating an earlier term takes no date from
    that term; a date said after it, "退680 一个礼拜内免费给换", is another clause's)."""
    start = None
    for c in clauses_of(clause.utt):
        if c.a >= clause.a:
            break
        start = None if c.stop else (c.a if start is None else start)
    return clause.utt.text[start:clause.a] if start is not None else ""


def _from_event(d: Deadline) -> bool:
    """A time that can count from an event: a duration (三日内), or 当场 / 当天 (on the spot of it);
    今天 names the calendar day whatever comes before it."""
    return d.kind == "relative" or d.kind == "today" and d.phrase in ("当场", "当天")


def _turn_before(utts: list[Utterance], idx: int) -> list[Clause]:
    """Clauses the same speaker said just before (a long turn cut into segments)."""
    out: list[Clause] = []
    j = idx - 1
    while j >= 0 and utts[j].speaker == utts[idx].speaker and idx - j <= 2:
        out = clauses_of(utts[j]) + out
        j -= 1
    return out


def _forbids(said: str) -> bool:
    """"不要X了" gives a claim up when X is a thing or an act owed (不要钱了, 不要他道歉了, 不要补了),
    and tells someone to stop when X is any other act (不要吵了, 不要在拖了: a verb, by jieba)."""
    if not said.startswith("不要"):
        return False
    words = [w for w in _posseg().cut(said[2:]) if w.word not in ("在", "再", "老", "乱", "又", "总")]
    if not words or not words[0].flag.startswith("v"):
        return False
    return not any(rx.search(words[0].word) for name, rx in _VERB_RE if name not in ("放弃", "停止"))


def _verb_in(text: str) -> tuple[str, re.Match[str]] | None:
    best = None
    for name, rx in _VERB_RE:
        for m in rx.finditer(text):
            if name not in ("停止", "放弃") and acts.negated_before(text, m.start()):
                continue
            # attributive or passive use (被拆除的院墙, 修好的墙) names a thing, not an act owed
            if text[m.end():].lstrip()[:1] in ("的", "和") or text[max(0, m.start() - 1):m.start()] in ("被", "的"):
                continue
            if name == "放弃" and _forbids(m.group(0)):
                continue  # "不要吵了", "不要在拖了": telling someone to stop, not a claim given up
            if text[m.end():m.end() + 1] == "费" and (len(m.group(0)) == 1 or name != "支付"):
                continue  # "退费这一块", "赡养费", "维修费": the cost of an act, a noun
            if best is None or m.start() < best[1].start():
                best = (name, m)
            break
    if best and best[0] == "归还" and find_amounts(text):
        best = ("支付", best[1])  # returning money (归还借款) is paying it
    if best is None:
        # "国强每个月一千五，国平每个月八百": an amount each month, said of a person, is paid by them
        m = re.search(r"每(?:个)?(?:月|年)(?=\s*[\d一二两三四五六七八九十]+\s*[百千万]?)", text)
        if m and (find_amounts(text[m.end():]) or find_bare_amounts(text[m.end():])):
            return ("支付", m)
    if best is None:
        # "300我能给" / "300是够的，就现在给了吧": the amount said first, then 给
        # ("两千我今天就给你": the one paid may close the clause; "给你打电话" is no payment)
        for m in re.finditer(r"给(?![我你他她]|人家|大家)|给(?:你|他|她|人家)(?=\s*(?:吧|啊|呀|嘛)?\s*$)", text):
            if acts.negated_before(text, m.start()):
                continue
            if any(0 <= m.start() - a.end <= 12 for a in find_amounts(text[:m.start()]) + find_bare_amounts(text[:m.start()])):
                return ("支付", m)
    return best


def _frames_in_sentence(sentence: list[Clause], u: Utterance, casefile: CaseFile, names: Names,
                        speaker_party: str | None, addressee: str | None, carried: list[str],
                        carried_deadline: list[Deadline], prev_clauses: list[Clause]) -> list[Frame]:
    session = casefile.date
    staff = u.is_staff
    sentence_text = u.text[sentence[0].a:sentence[-1].b]
    # the clause ends before its punctuation: a "？" after the sentence still makes it a question
    asked = u.text[sentence[-1].b:sentence[-1].b + 2].lstrip()[:1] in ("？", "?")
    # verb-bearing clauses open frames; others attach to the frame before (manner, place, time)
    groups: list[list[Clause]] = []
    lead: list[Clause] = []
    for k, c in enumerate(sentence):
        if NOT_A_TERM.search(c.text):
            if groups:
                groups.append([])  # a remedy/logistics clause ends the frame before it
            lead = []
            continue
        v = _verb_in(c.text)
        if v is None and lead and re.search("给", c.text):
            # the amount was said in the clause before ("300是够的，就现在给了吧")
            joined = _verb_in(_joined(u, lead[-1:] + [c]))
            at = re.search("给", c.text)
            if joined is not None and joined[0] == "支付" and at is not None and joined[1].group(0) == "给":
                v = ("支付", at)
        if v is not None and k + 1 < len(sentence) and sentence[k + 1].text.startswith("的"):
            v = None  # "禁止占用 的字": the verb is inside a name for a thing
        mentions_before = [m for m in _mentions(c.text, names, speaker_party, addressee, u)
                           if v and m.end <= v[1].start()]
        open_group = groups[-1] if groups and groups[-1] else None
        guarantee = open_group is not None and (_verb_in(_joined(u, open_group)) or ("",))[0] == "担保"
        if v is not None and not guarantee and (open_group is None or mentions_before or not (
                _continues(c.text, v) or _instalment(c.text, v, open_group, session)
                or _same_act(c.text, v, open_group, kind_of=_verb_in))):
            # "郑浩在本月底之前，…把防水做好": who and by when, said before the verb
            keep = [i for i, x in enumerate(lead) if find_deadlines(x.text, session) or names.find(x.text)
                    or BOTH_RE.search(x.text) or (v[0] == "探视" and RECUR_RE.search(x.text))]
            groups.append((lead[keep[0]:] if keep else []) + [c])
            lead = []
        elif open_group is not None and staff and re.match(r"(?:那|好)?(?:我们|咱们)", c.text):
            # the mediator's "我们今天就说赡养费" is about the hearing (staff owe nothing): it adds no
            # time or manner to the term before it
            groups.append([])
            lead = []
        elif open_group is not None:
            open_group.append(c)
        elif re.search(r"协议|如下|以下", c.text):
            lead = []  # "双方自愿达成如下协议：" announces the terms; it is none of them
        elif len(c.text) <= 16 or find_deadlines(c.text, session) or names.find(c.text):
            lead.append(c)
        else:
            lead = []
    frames: list[Frame] = []
    subject: list[str] = []
    pending: list[Clause] = []
    for g in groups:
        if not g:
            continue
        if (_verb_in(_joined(u, g)) or ("",))[0] == "探视":
            # "…送回东门，从哪个周末开始": the question after a visiting schedule asks; it is no part of it
            while len(g) > 1 and WH_RE.search(g[-1].text) and _verb_in(g[-1].text) is None:
                g = g[:-1]
        text = _joined(u, g)
        v = _verb_in(text)
        if v is None:
            continue
        kind, m = v
        if acts.is_past(text, m.start()):
            continue
        if "谁" in text[:m.start()]:
            continue  # "还有谁来照顾": who owes it is what is asked; it binds nobody
        said = find_deadlines(text, session)
        if any(d.date < session for d in said) and not any(d.date >= session for d in said):
            continue  # told with the date it happened on ("2024年3月18号…借了三万"): narrative
        mentions = _mentions(text, names, speaker_party, addressee, u)
        # "袁梦这边就是物业…赔5200": a name the sentence is about (a topic) is not its subject
        topics = [x for x in mentions if x.end <= m.start() and TOPIC_RE.match(text[x.end:x.end + 4])
                  and any(x.end <= y.at and y.end <= m.start() and y.party != x.party for y in mentions)]
        # "我觉得这四千六他应该补给我": who thinks or says so (觉得, 认为 …) is not who acts
        holders = [x for x in mentions if x.end <= m.start() and OPINION_RE.match(text, x.end)]
        before = [x for x in mentions if x.end <= m.start() and not _marked_obligee(text, x) and x not in topics
                  and x not in holders]
        after = [x for x in mentions if x.at >= m.end() or _marked_obligee(text, x)]
        if kind == "支付" and before:
            after = topics + after  # …is who it is paid to
        obligors = _run_of_names(before, text)
        counted = COUNTED_RE.search(text[:m.start()])
        if counted and not obligors:
            # "三个人各出三分之一": as many people as one side of the table has, each owes it
            n = int(parse_numeral(counted.group(1)) or 0)
            sides: dict[str, list[str]] = {}
            for p in casefile.bound_parties:
                sides.setdefault(p.role, []).append(p.id)
            fits = [ids for ids in sides.values() if len(ids) == n]
            if len(fits) == 1:
                obligors = fits[0]
        by_count = bool(counted) and len(obligors) > 1
        if kind == "归属" and not obligors:
            # "房屋归陈丽所有": the one it goes to is named inside the verb
            obligors = [x.party for x in mentions if m.start() <= x.at < m.end()]
        if not obligors and subject:
            # the same subject goes on within a sentence, also past a clause that is no term
            # ("汪德胜把院墙…往院子里退一米二，重新砌…": 退 without money opens no payment)
            obligors = list(subject)
        subject = list(obligors)
        if not obligors and carried and staff and not re.search(r"[他她]们?", text[:m.start()]):
            # (the party the turn was about, unless the sentence names someone else: "他现在同意全退")
            obligors = list(carried)
        if not obligors and kind == "支付" and text[max(0, m.start() - 2):m.start()].endswith("我") and speaker_party:
            obligors = [speaker_party]
        if not obligors and not staff and kind == "放弃" and speaker_party:
            obligors = [speaker_party]  # "以后也不再找他要这个": a party gives up their own claim
        claimants: list[str] = []
        if obligors and THIRD_PERSON_RE.search(text[:m.start()]):
            # "曹叔，你申请书上写了，…要她赔三千": the act is asked of a third person (要她赔, 让他退);
            # the names before it are who asks, not who acts
            other = _other_side(obligors, casefile)
            if other:
                claimants, obligors = list(dict.fromkeys(obligors)), other
        if not staff and speaker_party in obligors and DEMAND_RE.search(text[:m.start()]):
            # "我们的要求就是全额退款": what the speaker demands is owed by the other side
            obligors = [p for p in obligors if p != speaker_party]
        amounts = _amounts(text, "支付" if kind == "放弃" else kind)
        extra: list[Clause] = []
        asked_amount = [c for c in prev_clauses if c.utt is not u and c.utt.is_staff and _amounts(c.text, "支付")]
        if kind == "支付" and not amounts and re.fullmatch(r"还给|退还|返还|退回|退给|还", m.group(0)) and asked_amount:
            amounts = [_amounts(asked_amount[-1].text, "支付")[-1]]  # "那680呢" — "我现在就微信退给他"
            extra = [asked_amount[-1]]
        if kind == "支付" and not amounts and re.fullmatch(r"还给|退还|返还|退回|退给|还", m.group(0)):
            kind = "归还"  # "把那个地锁还给他": a thing returned, not money
        if kind == "支付" and not amounts and re.fullmatch(r"付|支付|付清|付给|付款|转给|转账|转帐|打给|打到|给付|结清", m.group(0)):
            # "剩下10360 … 付给黄秀英": the amount said in the clause just before, with no verb of its own
            for c in reversed(prev_clauses[-3:] + [x for x in sentence if x.b <= g[0].a]):
                got = _amounts(c.text, kind)
                if got and _verb_in(c.text) is None and not find_deadlines(c.text, session):
                    amounts = [got[-1]]
                    extra = [c]
                    break
        deadlines = [d for d in find_deadlines(text, session) if d.date >= session
                     and not (_from_event(d) and _counted_from_event(sentence_text, d.phrase))]
        if not deadlines and kind != "探视":
            today = re.search(r"(?<!从)今天(?!之前|以前|起|开始)", text[:m.start()])  # 从今天起 starts it
            if today and not re.search(r"今天[是的]", text[today.start():today.start() + 3]):
                # "韩立伟今天用微信给邓秀芬转…": the day said before the act is when it is done
                deadlines = [Deadline(session, "今天", "today", today.start(), today.end())]
        if kind == "探视" and not (RECUR_RE.search(text) or re.search(r"初[一二三四五六七八九十]|[\d一二两三四五六七八九十]点", text)):
            continue  # a visit is said with when it recurs or at what hour: "跟妈妈" alone is no schedule
        if kind == "探视":
            # a visiting schedule recurs; the day it starts ("这个礼拜六") is no performance deadline
            deadlines = []
            if staff:
                # the parents: one hands the child over, the other brings it back ("在苏晴家楼下"
                # names a place, not who owes it)
                obligors = [p.id for p in casefile.bound_parties]
        if not deadlines and staff and kind == "支付" and frames and frames[-1].kind == "支付" \
                and frames[-1].deadlines and not frames[-1].schedule:
            deadlines = list(frames[-1].deadlines)  # "甲这个月底前给…，乙给…": one deadline for both
        if not deadlines and carried_deadline and staff and kind == "支付" and not carried and not frames:
            deadlines = list(carried_deadline)
        schedule = _schedule(text, session)
        if schedule and not extra:
            # the total said just before its instalments ("一共是5040元。分两次交…")
            for c in reversed(prev_clauses[-4:]):
                if TOTAL_RE.search(c.text) and find_amounts(c.text) and _verb_in(c.text) is None:
                    extra = [c]
                    break
        if kind == "支付" and not amounts and not schedule and SHARE_RE.search(text) \
                and (by_count or any(x.form != "pronoun" for x in before)):
            # "罗俊收到收据后七日内把一半转给她": a share of a cost, owed without a fixed sum — only
            # by a party named for it (with no sum, a pronoun's guess at who pays is too much)
            pass
        elif kind == "支付" and not amounts and not schedule:
            if not frames and obligors:
                pending = list(g)  # what it says (退一米二) belongs to the act the sentence goes on to
            continue
        obligees = list(dict.fromkeys(x.party for x in after if x.party not in obligors)) or claimants
        if not obligors and staff and kind == "支付" and obligees:
            # the mediator's "每期韦春生三千，蒙志强两千": paid to one side, so owed by the other
            # side of the table when it is one party
            obligors = _other_side(obligees, casefile)
        # "12月10号 1月10号 2月10号 3月10号 一共四期" then "每期韦春生三千，蒙志强两千": the dates
        # listed just before, each paying the amount said per instalment
        per_instalment: list[tuple[str | None, Amount]] = []
        if kind == "支付" and staff and not schedule and amounts and INSTALMENT_RE.search(text):
            listed = _listed_dates(prev_clauses + [x for x in sentence if x.b <= g[0].a], session)
            if len(listed) >= 2:
                paired = _amount_per_obligee(text, after, amounts)
                per_instalment = paired if paired else ([(None, amounts[0])] if len(amounts) == 1 else [])
        head = _object_head(text[m.end():m.end() + 12], names) or _object_head(text[max(0, m.start() - 12):m.start()], names)
        if kind not in ("支付", "停止", "道歉", "归属", "放弃", "探视") and head is None and not deadlines:
            continue
        if per_instalment:
            for who, a in per_instalment:
                frames.append(Frame(
                    kind=kind, verb=m.group(0), obligors=tuple(dict.fromkeys(obligors)),
                    obligees=(who,) if who else tuple(obligees), clauses=tuple(g), amounts=(a,), deadlines=(),
                    schedule=tuple((d, a.yuan) for d in listed), object_head=head, speaker_party=speaker_party,
                    staff=staff, question=acts.is_question(text), conditional=acts.is_conditional(text),
                    negated=False, suggestion=acts.is_suggestion(sentence_text), periodic=False,
                    acceleration=bool(ACCELERATION_RE.search(sentence_text)),
                ))
            continue
        if pending and set(obligors) == set(subject) and not frames:
            g = pending + g
        pending = []
        frames.append(Frame(
            kind=kind, verb=m.group(0), obligors=tuple(dict.fromkeys(obligors)),
            obligees=tuple(obligees),
            clauses=tuple(g), amounts=tuple(amounts), deadlines=tuple(deadlines), schedule=tuple(schedule),
            object_head=head, speaker_party=speaker_party, staff=staff,
            question=acts.is_question(text) or ((acts.is_question(sentence_text) or asked) and g[-1] is sentence[-1])
            or bool(ASKING_RE.search(text)),
            conditional=acts.is_conditional(sentence_text[: sentence_text.find(text) + len(text)]),
            negated=False, suggestion=acts.is_suggestion(sentence_text) or bool(DEMAND_RE.search(text[:m.start()])),
            periodic=bool(PERIODIC_RE.search(text)),
            acceleration=bool(ACCELERATION_RE.search(sentence_text)),
            extra=tuple(extra),
        ))
    return frames


INSTALMENT_RE = re.compile(r"每期|每一期|每次")
COUNTED_RE = re.compile(r"([两二三四五六七八九])\s*(?:个人|个|家|位)\s*(?:各|每人|一人|都)")
# a share of a cost said instead of a sum: 一半, 各半, 三分之一, 百分之三十, 平摊
SHARE_RE = re.compile(r"一半|各半|[二两三四五六七八九十]分之[一二三四五六七八九]|百分之[\d一二三四五六七八九十]+|平摊|均摊|平均分摊|分摊")
TOPIC_RE = re.compile(r"(?:这边|那边|这块|那块|这一块|这部分|那部分|的部分|这方面|方面|的话|的事)")


def _other_side(obligees: list[str], casefile: CaseFile) -> list[str]:
    """The one bound party on the other side from ``obligees`` (a different role), else none."""
    roles = {p.role for p in casefile.bound_parties if p.id in obligees}
    rest = [p.id for p in casefile.bound_parties if p.id not in obligees and p.role not in roles]
    return rest if len(rest) == 1 else []


def _listed_dates(before: list[Clause], session: dt.date) -> list[dt.date]:
    """Dates listed one after another with no amount and no verb, just before (the instalment days)."""
    dates: list[dt.date] = []
    skipped = 0
    for c in reversed(before[-8:]):
        got = [d for d in find_deadlines(c.text, session) if d.date >= session and d.kind == "absolute"]
        if not got:
            if dates or skipped >= 2:
                break
            skipped += 1  # "…3月10号，一共四期": a count after the list
            continue
        if find_amounts(c.text) or _verb_in(c.text) is not None:
            break
        dates = [d.date for d in got] + dates
    return dates if dates == sorted(set(dates)) else []


def _amount_per_obligee(text: str, after: list[Mention], amounts: list[Amount]) -> list[tuple[str | None, Amount]]:
    """"韦春生三千，蒙志强两千": each obligee with the amount said right after the name."""
    out: list[tuple[str | None, Amount]] = []
    for x in after:
        nxt = [a for a in amounts if 0 <= a.start - x.end <= 2]
        if nxt and x.form == "name":
            out.append((x.party, nxt[0]))
    return out if len(out) >= 2 and len({p for p, _ in out}) == len(out) else []


def _joined(u: Utterance, clauses: list[Clause]) -> str:
    """The clauses' words with a comma where only a pause separated them ("…交2520‖12月31号…"
    must not read as one number)."""
    out = ""
    for k, c in enumerate(clauses):
        if k:
            gap = u.text[clauses[k - 1].b:c.a]
            out += gap if gap.strip() else "，"
        out += c.text
    return out


def _instalment(text: str, v: tuple[str, re.Match[str]], group: list[Clause], session: dt.date) -> bool:
    """"…分三期归还，12月31日前支付八千元，1月31日前支付六千元": each instalment continues the term."""
    head = _verb_in(_joined(group[0].utt, group))
    return v[0] == "支付" and head is not None and head[0] == "支付" and bool(find_amounts(text)) \
        and bool(find_deadlines(text, session))


def _amounts(text: str, kind: str) -> list[Amount]:
    found = find_amounts(text)
    if not found and kind == "支付":
        # dates are not money: mask them before reading bare numbers
        masked = text
        for d in find_deadlines(text, dt.date(2000, 1, 1)):
            masked = masked[:d.start] + "　" * (d.end - d.start) + masked[d.end:]
        found = find_bare_amounts(masked)
    return found


def _same_act(text: str, v: tuple[str, re.Match[str]], group: list[Clause], kind_of) -> bool:  # type: ignore[no-untyped-def]
    """"…赔偿两千八百元，于12月10日前通过微信转账一次性付清": a second verb of the same kind with no
    subject and no amount of its own says when and how the same act is done."""
    head = kind_of(_joined(group[0].utt, group))
    if head is not None and head[0] == "探视" and v[1].group(0).startswith("送"):
        return True  # "…在东门接走，周日下午六点送回": bringing the child back is part of the visit
    return head is not None and head[0] == v[0] and not find_amounts(text)


def _continues(text: str, v: tuple[str, re.Match[str]]) -> bool:
    """A clause that only adds the manner of the frame before it ("微信转账", "并做闭水试验")."""
    kind, m = v
    return bool(re.match(r"^(并|并且|再|同时|然后|通过|用|以)", text)) or (
        kind == "支付" and not find_amounts(text) and bool(MANNER_RE.search(text)) and len(text) <= 12)


def _marked_obligee(text: str, x: Mention) -> bool:
    # "每期韦春生三千，蒙志强两千": a name with an amount right after it is who receives it
    if re.match(r"\s*(?:每人|每个人|每月)?[\d一二两三四五六七八九十百千万]+\s*(?:元|块|千|万|百)?", text[x.end:x.end + 6]) \
            and re.match(r"\s*[\d一二两三四五六七八九十]", text[x.end:x.end + 3]) \
            and not re.match(r"\s*[\d一二两三四五六七八九十]{1,4}\s*[年月号日]", text[x.end:x.end + 8]):  # a date, not an amount
        return True
    return bool(re.search(r"(给|向|跟|和|对|替|帮|让|叫|要|欠|找)$", text[max(0, x.at - 1):x.at]))


def _run_of_names(before: list[Mention], text: str) -> list[str]:
    """The obligor(s): the subject, i.e. the first names before the verb, with 和 / 、 / spaces
    between several ("冯国庆 冯国强 每人每月…给")."""
    if not before:
        return []
    run = [before[0]]
    for x in before[1:]:
        gap = text[run[-1].end:x.at]
        if re.fullmatch(r"[\s、，,和跟与及]*", gap):
            run.append(x)
        else:
            break
    return [x.party for x in run]


def _mentions(text: str, names: Names, speaker_party: str | None, addressee: str | None,
              u: Utterance) -> list[Mention]:
    found = names.find(text)
    taken = [(m.at, m.end) for m in found]
    for m in BOTH_RE.finditer(text):
        if not any(a < m.end() and m.start() < b for a, b in taken):
            taken.append((m.start(), m.end()))
            found.extend(Mention(p, m.start(), m.end(), "both") for p in names.bound)
    for forms, who in ((SELF, speaker_party if not u.is_staff else None), (ADDRESSEE, addressee)):
        if who is None:
            continue
        rx = re.compile("|".join(f + "(?!们)" if f in ("你", "您") else f for f in forms))
        for m in rx.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append(Mention(who, m.start(), m.end(), "pronoun"))
    return sorted(found, key=lambda m: m.at)


def _object_head(rest: str, names: Names) -> str | None:
    nouns = [w for w, flag in _posseg().cut(rest[:20]) if flag.startswith("n") and flag != "nr"
             and w not in GENERIC_NOUNS and not names.find(w) and (len(w) >= 2 or flag == "n")]
    return nouns[-1] if nouns else None


def _schedule(text: str, session: dt.date) -> list[tuple[dt.date, Decimal]]:
    """Instalments: each deadline with its amount — the one said right after it ("月底前先给四千"),
    else the one said right before it ("余款10600元于年底前"); a total (一共…) pays no instalment."""
    deadlines = [d for d in find_deadlines(text, session) if d.date >= session]
    amounts = find_amounts(text)
    masked = text
    for d in find_deadlines(text, session):
        masked = masked[:d.start] + "　" * (d.end - d.start) + masked[d.end:]
    bare = [b for b in find_bare_amounts(masked) if not any(a.start < b.end and b.start < a.end for a in amounts)]
    amounts = [a for a in sorted(amounts + bare, key=lambda a: a.start)
               if not TOTAL_RE.search(text[max(0, a.start - 4):a.start])]
    if len(deadlines) < 2 or len(amounts) < 2:
        return []
    pairs: list[tuple[dt.date, Decimal]] = []
    used: set[int] = set()
    for i, d in enumerate(deadlines):
        nxt = deadlines[i + 1].start if i + 1 < len(deadlines) else len(text)
        prev = deadlines[i - 1].end if i else 0
        # "剩下的3000" after a date belongs to the next date ("月底先给一半，剩下的3000年底前"),
        # unless no date follows it: "二月十五号把剩下的一千一百八十四交清"
        last = i + 1 == len(deadlines)
        after = [a for a in amounts if d.end <= a.start < nxt and a.start not in used
                 and (last or not re.search(r"剩下|剩余|余款|其余", text[max(0, a.start - 4):a.start]))]
        before = [a for a in amounts if prev <= a.start and a.end <= d.start and a.start not in used]
        pick = after[0] if after else (before[-1] if before else None)
        if pick is not None:
            used.add(pick.start)
            pairs.append((d.date, pick.yuan))
    return pairs if len(pairs) >= 2 else []


def _total(f: Frame) -> Decimal | None:
    """The total a schedule pays, when it was said (一共…, 共计…)."""
    for c in list(f.extra) + list(f.clauses):
        for a in _amounts(c.text, "支付"):
            if TOTAL_RE.search(c.text[max(0, a.start - 4):a.start]):
                return a.yuan
    return None


# -- what the replies decide ---------------------------------------------------------------
def decide(frames: list[Frame], dialogue: Dialogue, casefile: CaseFile) -> list[Frame]:
    utts = list(dialogue)
    pos = {u.index: i for i, u in enumerate(utts)}
    # Silence is assent only once the haggling is over: after the last time a party said no.
    noes = [(i, principal(casefile, casefile.speakers.get(u.speaker or ""))) for i, u in enumerate(utts)
            if not u.is_staff and acts.is_rejection("".join(c.text for c in clauses_of(u)[:2]))]
    decided: list[Frame] = []
    answers: set[tuple[int, str]] = set()  # (utterance, kind) of the replies that accepted a frame
    for f in frames:
        # ... by the parties this obligation binds, when they are known (another party's haggling
        # over another claim later in the hearing does not hold this one open)
        bound = set(f.obligors) | set(f.obligees) if f.obligors and (f.obligees or f.kind == "放弃") else None
        last_no = max((i for i, who in noes if bound is None or who in bound), default=-1)
        if f.question and not f.staff:
            decided.append(replace(f, status="question", reason="问句"))
            continue
        if f.conditional:
            decided.append(replace(f, status="conditional", reason="条件句（如果…的话）"))
            continue
        i = pos[f.utt.index]
        verdict, by = _reply(f, utts, i, casefile, frames)
        if verdict == "accepted":
            g = replace(f, status="accepted", reason="对方同意", by=by)
            reply = by[0].utt if by else None
            if reply is not None:
                answers.add((reply.index, f.kind))
            who = principal(casefile, casefile.speakers.get(reply.speaker or "")) if reply else None
            if reply is not None and who in f.obligors:
                # the obligor's own "可以，我现在就用微信转" says when and how
                said = find_deadlines(reply.text, casefile.date)
                if _timed_from_event(" ".join(c.text for c in f.clauses)):
                    # "钥匙拿到…以后，三天内退" — "行，三天之内": the reply echoes a time counted
                    # from the event, which no calendar date stands for either
                    said = [d for d in said if not _from_event(d)]
                if not f.deadlines and said and f.kind != "探视":
                    g = replace(g, deadlines=tuple(d for d in said if d.date >= casefile.date))
                if said or MANNER_RE.search(reply.text):
                    g = replace(g, by=tuple(clauses_of(reply)))
                else:
                    g = replace(g, by=())
            else:
                g = replace(g, by=())
            decided.append(_with_how(g, utts, pos[(reply or f.utt).index], casefile, frames))
        elif verdict in ("rejected", "corrected"):
            decided.append(replace(f, status="rejected",
                                   reason="被更正" if verdict == "corrected" else "被拒绝", by=by))
        elif f.question:
            decided.append(replace(f, status="question", reason="问句，未获明确答复"))
        elif f.staff and not f.suggestion and i > last_no and not acts.is_rejection(f.text):
            decided.append(replace(f, status="accepted", reason="调解员口述，无人反对"))
        elif not f.staff and f.speaker_party in f.obligors and f.kind == "放弃" and not any(
                acts.is_retraction(v.text) for v in utts[i + 1:] if v.speaker == f.utt.speaker):
            # a claim given up binds the one who gives it up, unless they take it back
            decided.append(replace(f, status="accepted", reason="当事人自己放弃，未收回"))
        elif not f.staff and f.speaker_party in f.obligors and PROMISE.search(f.text) and i > last_no \
                and not CAP_RE.search(f.text):
            decided.append(replace(f, status="accepted", reason="当事人自己承诺，无人反对"))
        else:
            decided.append(replace(f, status="proposed", reason="未获对方同意"))
    # "同意，我说了不要就不要了": the assent to a term restates it; it is not another term
    decided = [replace(f, status="superseded", reason="是对另一条的答复") if f.status == "accepted"
               and (f.utt.index, f.kind) in answers and f.amount is None and not f.deadlines else f for f in decided]
    return _supersede(_withdrawn(_inherit_obligors(decided, utts, casefile)))


def _withdrawn(frames: list[Frame]) -> list[Frame]:
    """"那道歉就算了，不要他道歉了": a party who gives up an act they asked for (the waiver names
    the act: 道歉, 搬走, 删除 …) withdraws every statement of that act owed to them or asked by them,
    before and after, so the apology they no longer want is no term, whoever said it."""
    out = list(frames)
    for w in frames:
        if w.kind != "放弃" or w.status != "accepted" or not w.obligors:
            continue
        # money is not named this way: an amount in a waiver may be what is paid in exchange
        # ("两万，一次性了断，别的什么都不再要了"), so payments stand
        acts_named = {name for name, rx in _VERB_RE if name not in ("放弃", "停止", "支付") and rx.search(w.text)}
        if not acts_named:
            continue
        claimant = set(w.obligors)
        for k, f in enumerate(out):
            if f is w or f.kind not in acts_named or f.status not in ("accepted", "proposed"):
                continue
            if f.obligees and not claimant & set(f.obligees) and f.speaker_party not in claimant \
                    and not claimant & set(f.obligors):
                continue  # the same act owed to someone else stands
            out[k] = replace(f, status="rejected", reason="权利人已放弃这一要求", by=w.clauses)
    return out


def _inherit_obligors(frames: list[Frame], utts: list[Utterance], casefile: CaseFile) -> list[Frame]:
    """"那就12月5号前，微信转账，2800": the mediator's restatement names nobody; the same amount
    was put to one obligor just before (“史阿姨…您看退2800行不行”), so it is that obligor's. A work
    restated with a date ("截根铺砖都在12月15号以前") is owed by the one party who offered that date
    for themselves just before ("十二月十五号之前吧，…肯定弄完")."""
    out = list(frames)
    pos = {u.index: i for i, u in enumerate(utts)}
    for k, f in enumerate(out):
        if not f.obligors and f.status == "accepted" and f.staff and f.deadlines and f.kind != "支付":
            i = pos[f.utt.index]
            offered = {principal(casefile, casefile.speakers.get(v.speaker or "")) for v in utts[max(0, i - 6):i]
                       if not v.is_staff and re.search(r"我|之前吧|以前吧", v.text)
                       and any(d.date == f.deadlines[0].date for d in find_deadlines(v.text, casefile.date))}
            offered.discard(None)
            if len(offered) == 1:
                out[k] = f = replace(f, obligors=tuple(offered))
        if f.obligors or f.status != "accepted" or f.kind != "支付" or f.amount is None:
            continue
        earlier = [g for g in out[max(0, k - 8):k] if g.kind == f.kind and g.obligors
                   and any(a.yuan == f.amount.yuan for a in g.amounts)]
        owners = {frozenset(g.obligors) for g in earlier}
        if len(owners) == 1:
            g = earlier[-1]
            out[k] = replace(f, obligors=g.obligors, obligees=f.obligees or g.obligees)
    return out


def _reply(f: Frame, utts: list[Utterance], i: int, casefile: CaseFile,
           frames: list[Frame]) -> tuple[str, tuple[Clause, ...]]:
    speaker = f.utt.speaker
    for u in utts[i + 1:i + (12 if f.staff else 6)]:
        if u.speaker == speaker:
            if any(g.utt is u for g in frames) and not f.staff:
                return "", ()  # the proposer goes on to another proposal: the first one is undecided
            continue  # the mediator going through the terms one by one: the replies come at the end
        who = principal(casefile, casefile.speakers.get(u.speaker or ""))
        text = u.text
        if who is None and not u.is_staff:
            continue
        if not f.staff and _same_side(casefile, who, f.speaker_party):
            continue  # "对，一分不能少": the proposer's own side backs the demand; it does not accept it
        if f.staff and who is not None and f.obligors and f.obligees and who not in f.obligors + f.obligees:
            continue  # a party the obligation does not bind neither accepts nor rejects it
        first = clauses_of(u)[:2]
        lead = "".join(c.text for c in first) if first else text
        if acts.is_correction(lead) or acts.is_retraction(lead):
            said = _amounts(text, "支付")
            dates = find_deadlines(text, casefile.date)
            # a correction of an amount (or a date) corrects the frames that carry a different one
            if said and f.amount is None or dates and not said and f.deadline is None:
                continue
            if said and f.amount is not None and any(a.yuan == f.amount.yuan for a in said):
                continue
            return "corrected", tuple(first)
        if acts.is_rejection(lead):
            if u.is_staff:
                continue
            return "rejected", tuple(first)
        counter = [g for g in frames if g.utt is u and g.kind == f.kind and set(g.obligors) == set(f.obligors)
                   and g.amount and f.amount and g.amount.yuan != f.amount.yuan]
        if counter and not u.is_staff:
            return "rejected", counter[0].clauses
        if acts.is_assent(lead) or acts.is_assent(text) or (first and acts.is_assent(first[0].text)) \
                or _echo_then_assent(clauses_of(u)):
            if u.is_staff:
                # the mediator's "好" acknowledges; it does not bind a party
                continue
            if f.staff and f.obligors and who not in f.obligors and _restated_demand(f):
                # "…要她赔三千" — "是啊": a party's demand the mediator restates binds the one who
                # must act only when they accept it; the claimant confirming it agrees nothing
                continue
            if who in f.obligors or f.staff or who not in (f.obligors or ()):
                return "accepted", tuple(first)
        if u.is_staff:
            continue
        return "", ()
    return "", ()


def _restated_demand(f: Frame) -> bool:
    """The mediator puts what a party demands ("要她赔三千", "他要求退全款"), not a proposal."""
    text = f.text
    at = text.find(f.verb)
    return at > 0 and bool(DEMAND_RE.search(text[:at]))


PAY_ACT_RE = re.compile(r"转|付|扫|打给|打到|给你")
HOW_RE = re.compile(r"怎么(?:给|付|转|还|退|支付|交)")


def _with_how(f: Frame, utts: list[Utterance], after: int, casefile: CaseFile, frames: list[Frame]) -> Frame:
    """An agreed payment said without its manner takes it from the obligor's own next words about
    paying ("大姐你加我微信，我转给你"), before the obligor turns to another obligation."""
    if f.kind != "支付" or _manner_said(f):
        return f
    asked = False  # the mediator asked how it is paid ("怎么给"): either side's answer says it
    for u in utts[after + 1:after + 7]:
        who = principal(casefile, casefile.speakers.get(u.speaker or ""))
        if u.is_staff and HOW_RE.search(u.text) and not asked:
            asked = True
            continue
        sides = f.obligors + (f.obligees or tuple(p.id for p in casefile.bound_parties))
        answers = asked and not u.is_staff and who in sides
        if not answers and (who not in f.obligors or len(f.obligors) != 1):
            continue
        if any(g.utt is u and g.kind != f.kind for g in frames):
            return f  # the obligor is on to another obligation
        for c in clauses_of(u):
            m = MANNER_RE.search(c.text)
            if m and PAY_ACT_RE.search(u.text) and not acts.negated_before(c.text, m.start()) \
                    and not acts.is_question(c.text) and not acts.is_conditional(c.text):
                return replace(f, how=(c,))
    return f


def _echo_then_assent(clauses: list[Clause]) -> bool:
    """"对半分啊，哎，行吧": the reply repeats the proposal (or hesitates) and then assents, within
    its first three clauses, with nothing before the assent that refuses, corrects or asks."""
    for k, c in enumerate(clauses[:3]):
        if acts.is_assent(c.text):
            return k > 0
        if acts.is_rejection(c.text) or acts.is_correction(c.text) or acts.is_retraction(c.text) \
                or acts.is_question(c.text) or acts.is_conditional(c.text):
            return False
    return False


def _same_side(casefile: CaseFile, a: str | None, b: str | None) -> bool:
    """Two parties on one side of the table: the same person, or two bound parties of one role
    (two 申请人)."""
    if a is None or b is None:
        return False
    if a == b:
        return True
    pa, pb = casefile.person(a), casefile.person(b)
    return pa is not None and pb is not None and pa.role == pb.role


def _same(a: Frame, b: Frame) -> bool:
    if a.kind != b.kind or set(a.obligors) != set(b.obligors):
        return False
    if a.periodic != b.periodic:
        return False
    if a.obligees and b.obligees and not set(a.obligees) & set(b.obligees):
        return False  # the same act owed to someone else is another obligation
    if bool(a.schedule) != bool(b.schedule) and not (a.deadlines if not a.schedule else b.deadlines):
        return False  # a total and the instalments that pay it complete each other
    ha, hb = a.object_head, b.object_head
    return ha is None or hb is None or ha in hb or hb in ha or (
        a.amount is not None and b.amount is not None and a.kind == "支付" and a.amount.yuan == b.amount.yuan)


def _manner_said(f: Frame) -> bool:
    return bool(MANNER_RE.search(f.text + "".join(c.text for c in f.by + f.arranged + f.also + f.how)))


def _supersede(frames: list[Frame]) -> list[Frame]:
    out = list(frames)
    for i, f in enumerate(out):
        if f.status not in ("accepted", "rejected", "proposed"):
            continue
        for j in range(i + 1, len(out)):
            g = out[j]
            if g.status == "accepted" and _same(f, g):
                own = f.status == "proposed" and not f.staff and f.speaker_party in f.obligors  # unopposed own offer
                if (f.status == "accepted" or own) and f.deadlines and not g.deadlines and not g.schedule and not f.schedule \
                        and (g.amount is None or f.amount is None or g.amount.yuan == f.amount.yuan) \
                        and not _timed_from_event(g.utt.text) \
                        and not _timed_in_own_words(g):
                    # a summary that restates a term without its date leaves the date as agreed
                    out[j] = g = replace(g, deadlines=f.deadlines, also=f.clauses + g.also)
                if f.status == "accepted" and f.kind == "支付" and _manner_said(f) and not _manner_said(g) \
                        and (g.amount is None or f.amount is None or g.amount.yuan == f.amount.yuan):
                    # "…十二月十五号之前微信转给晓雯" restated later as "十五号前付清四千五": the
                    # restatement without a manner leaves the manner agreed, as it leaves the date
                    out[j] = g = replace(g, how=g.how + (f.how or f.clauses))
                if f.status == "accepted" and g.utt is f.utt and f.kind == "放弃" and not g.amounts:
                    # "剩下的1600我就不要了，以后我也不再找她要押金了": one waiver said twice in a breath
                    out[j] = replace(g, clauses=f.clauses + g.clauses, amounts=f.amounts)
                    out[i] = replace(f, status="superseded", reason="与后一句合为一条")
                    break
                out[i] = replace(f, status="superseded", reason="后面的说法取代了它")
                break
    return out


# -- the terms ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    text: str
    frame: Frame
    deadline: Deadline | None
    utterances: tuple[Utterance, ...]


def agreed_terms(frames: list[Frame], names: Names) -> list[Term]:
    accepted = [f for f in frames if f.status == "accepted" and f.obligors]
    merged = _merge_schedules(accepted)
    return [render(f, names) for f in merged]


def _merge_schedules(frames: list[Frame]) -> list[Frame]:
    """A total and its instalments said apart ("共计八万…" then "分三期…") are one term."""
    out: list[Frame] = []
    for f in frames:
        if f.schedule and out and out[-1].kind == f.kind and set(out[-1].obligors) == set(f.obligors) \
                and not out[-1].schedule and not out[-1].deadlines:
            prev = out.pop()
            own = {(c.utt.index, c.a, c.b) for c in f.extra + f.clauses}
            keep = tuple(c for c in prev.extra + prev.clauses if (c.utt.index, c.a, c.b) not in own)
            f = replace(f, clauses=keep + f.clauses if prev.utt is f.utt and not f.extra else f.clauses,
                        extra=(() if prev.utt is f.utt and not f.extra else keep) + f.extra,
                        amounts=prev.amounts + f.amounts)
        out.append(f)
    return out


def render(f: Frame, names: Names) -> Term:
    body = ENUM_RE.sub("", f.written).strip()
    obligors = [names.display(p) for p in f.obligors]
    if f.extra:
        body = "".join(ENUM_RE.sub("", c.text) + "，" for c in f.extra) + body
    if f.kind == "探视" and "探视" not in body:
        body = f"关于探视，{body}"  # what the schedule is for, as a clerk heads it
    if not all(n in body for n in obligors):
        body = f"{'、'.join(obligors)}：{body}"
    if f.arranged:
        body = body.rstrip("。，, ") + "；" + _joined(f.arranged[0].utt, list(f.arranged))
    if f.by:
        reply = f.by[0].utt
        body = body.rstrip("。，, ") + f"；{reply.name or reply.display}答复：{_joined(reply, list(f.by))}"
    obligees = [names.display(p) for p in f.obligees]
    if not obligees and f.staff and re.search(r"你们|给大家|各位", f.text):
        # the mediator's "退给你们三位": the other side of the table
        roles = {names.casefile.person(p).role for p in f.obligors if names.casefile.person(p)}
        obligees = [names.display(p.id) for p in names.casefile.bound_parties if p.role not in roles]
    notes = []
    if f.schedule:
        total = _total(f)
        if total is not None:
            notes.append(f"共计：{_yuan(total)}")
        elif len(f.schedule) >= 2:
            notes.append(f"合计：{_yuan(sum((y for _, y in f.schedule), Decimal(0)))}")  # what the instalments pay
        plan = "；".join(f"{format_date(d)}前{_yuan(y)}" for d, y in f.schedule)
        notes.append(f"分期：{plan}")
        if f.acceleration:
            notes.append("任何一期逾期未付，剩余款项全部到期")
    else:
        if f.amount is not None:
            notes.append(f"{'放弃金额' if f.kind == '放弃' else '金额'}：{_yuan(f.amount.yuan)}")
        if f.deadline is not None:
            notes.append(f"期限：{format_date(f.deadline.date)}前")
    if obligees and not all(n in body for n in obligees):
        notes.append(f"权利人：{'、'.join(obligees)}")
    text = body.rstrip("。，, ") + (f"（{'，'.join(notes)}）" if notes else "") + "。"
    utts = tuple(dict.fromkeys([c.utt for c in f.extra] + [c.utt for c in f.clauses] + [c.utt for c in f.arranged]
                               + [c.utt for c in f.scheduled] + [c.utt for c in f.also] + [c.utt for c in f.by]
                               + [c.utt for c in f.how]))
    return Term(text=text, frame=f, deadline=f.deadline, utterances=utts)


def spoken_core(term: str) -> str:
    """A term as it was said: without the obligor's name the drafter put first and the amounts,
    dates and obligees it spelled out after it (for comparing with what was dictated)."""
    term = re.sub(r"（(?:放弃金额|金额|期限|分期|共计|合计|权利人)：[^）]*）。$", "。", term)
    term = re.sub(r"；[^；]{1,12}答复：[^；]*。$", "。", term)
    return re.sub(r"^[^：，。]{2,16}：", "", term)


def _yuan(y: Decimal) -> str:
    return f"{y.normalize():f}元" if y % 1 else f"{int(y)}元"


def _manner_label(said: str) -> str:
    said = said.replace("转帐", "转账")
    if said == "当面":
        return "当面支付"
    if said in ("银行卡", "转账") or said.startswith("打到") or said.startswith("转到"):
        if said.endswith("卡"):
            return "银行转账"
        return "银行转账" if "卡" in said or "银行" in said else "转账"
    m = re.fullmatch(r"分([\d一二两三四五六七八九十]+)(?:期|次)", said)
    if m:
        from scribe.extract.quantities import parse_numeral

        n = parse_numeral(m.group(1))
        if n:
            import cn2an

            return f"分{cn2an.an2cn(int(n))}期"
    return said


def manner_of(terms: list[Term]) -> list[tuple[str, Term]]:
    found: list[tuple[str, Term]] = []
    for t in terms:
        # the obligor's own reply ("可以，我现在就用公司的微信给三位转") says how as much as the term does
        said = t.frame.text + "".join(c.text for c in t.frame.arranged + t.frame.also + t.frame.by + t.frame.how)
        labels = [_manner_label(m.group(0)) for m in MANNER_RE.finditer(said)]
        if t.frame.kind == "支付":
            # money sent "用微信" is a WeChat transfer
            labels = [f"{x}转账" if x in ("微信", "支付宝") else x for x in labels]
        labels = list(dict.fromkeys(labels))
        if "银行转账" in labels and "转账" in labels:
            labels.remove("转账")
        for label in labels:
            if not any(label == x for x, _ in found):
                found.append((label, t))
    return found


def place_of(terms: list[Term]) -> tuple[str, Term] | None:
    for t in terms:
        m = PLACE_RE.search(t.frame.text + "，" + "".join(c.text for c in t.frame.arranged))
        if m:
            return m.group(1), t
    return None

