"""Dialogue acts of a clause or a short reply: assent, rejection, correction, retraction,
condition, question, and whether a verb is negated.

These are small closed classes of Mandarin function words and set replies (行 / 不行 / 如果 …
的话 / 吗), the grammar of agreeing and refusing, not any office's phrasing of a term. A reply is
read as a whole turn ("两千八就两千八吧" concedes by repeating the value: ``X就X``).
"""

from __future__ import annotations

import re

FILLER = r"(?:嗯+|啊+|哦+|哎+|呃+|唉+|那|那就|好吧|行吧|这个|就是)?"
ASSENT_CORE = (
    r"好|好的|好吧|行|行吧|行行行?|可以|可以的|同意|我同意|我们同意|都同意|没问题|没有问题|没意见|没有意见|"
    r"没有异议|没异议|对|对对+|对的|是的|是|成|中|答应|我答应|认|我认|就这样|就这么办|就这么定|就按这个|"
    r"按你说的办|听你的|照办|一言为定|要得|得|OK|ok|嗯+|没有了|没了|接受|我接受|愿意|我愿意"
)
ASSENT_RE = re.compile(rf"^{FILLER}[，, ]?(?:{ASSENT_CORE})(?:[，, ]?(?:{ASSENT_CORE}|吧|啊|呀|了))*[。！!，, ]*$")
# "两千八就两千八" / "十号就十号": conceding by repeating the other side's value
CONCEDE_RE = re.compile(r"(.{1,6}?)就\1(吧|了|啊)?")
REJECT_RE = re.compile(
    r"不行|不同意|不可能|不接受|不答应|不能接受|接受不了|没门|不干|不认|不服|凭什么|做梦|想得美|"
    r"太多了|太少了|太高了|太低了|多了|少了不行|拿不出|给不了|付不起|办不到|做不到|不成"
    r"|没这个道理|没得谈|不调了|不谈了"
)
CORRECTION_RE = re.compile(r"不对|说错了|念错了|写错了|搞错了|弄错了|改一下|改成|更正|纠正|应该是|不是.{1,10}是")
RETRACT_RE = re.compile(r"不算数?(?![在进入])|收回|反悔|作废|不作数|我不同意了|那我不给了|说了不算")
CONDITION_RE = re.compile(r"如果|要是|假如|假设|(?<![\d一二两三四五六七八九十百千])万一(?![千百])|只要|除非|(?<![里上中])的话|否则|不然|不然的话")
QUESTION_RE = re.compile(
    r"[吗？?]|(?:行不行|可不可以|能不能|同不同意|愿不愿意|有没有|是不是|好不好|对不对|要不要|接不接受|怎么样|"
    r"多少|什么时候|哪天|几号|何时|呢)[。，,！!]?\s*$"
    # any A-not-A question at the end (中不中, 要得不要得: dialect forms of 行不行)
    r"|([\u4e00-\u9fff]{1,2})不\1[。，,！!]?\s*$"
)
SUGGEST_RE = re.compile(r"建议|看看|考虑|商量|要不|要么|不如|能不能|可不可以|行不行|怎么样|你看|您看")
NEGATOR_RE = re.compile(r"(不|没|没有|别|未|无法|不能|不会|不想|不肯|不愿|不愿意|不用|不必|甭)$")
PAST_RE = re.compile(r"已经|以经|已|曾经|当时|当初|那天|那时候|去年|前年|上个月|之前就")


def is_assent(text: str) -> bool:
    t = text.strip()
    if not t or REJECT_RE.search(t) and not ASSENT_RE.match(t):
        return False
    return bool(ASSENT_RE.match(t) or (CONCEDE_RE.search(t) and not REJECT_RE.search(t)))


def is_rejection(text: str) -> bool:
    t = text.strip()
    if ASSENT_RE.match(t):
        return False
    return bool(REJECT_RE.search(t))


def is_correction(text: str) -> bool:
    return bool(CORRECTION_RE.search(text))


def is_retraction(text: str) -> bool:
    return bool(RETRACT_RE.search(text))


def is_conditional(text: str) -> bool:
    return bool(CONDITION_RE.search(text))


def is_question(text: str) -> bool:
    return bool(QUESTION_RE.search(text.strip()))


def is_suggestion(text: str) -> bool:
    return bool(SUGGEST_RE.search(text))


def negated_before(text: str, at: int) -> bool:
    """Whether the verb at ``text[at]`` is negated by a negator in the few characters before it
    (不会付 / 没有给 / 别去): negation in Mandarin scopes over the verb right after it."""
    window = text[max(0, at - 4):at]
    for k in range(1, len(window) + 1):
        if NEGATOR_RE.search(window[-k:]) and not re.search(r"[，,。]", window[-k:]):
            return True
    return False


def is_past(text: str, at: int) -> bool:
    """The verb at ``text[at]`` reports something done (已经付了), not an obligation."""
    before = text[max(0, at - 6):at]
    after = text[at:at + 4]
    # "我是微信转给他的": 是…的 reports how something was done
    done = bool(re.search(r"是[^，。,\s]{0,8}$", before) and re.match(r"[^，。,\s]{0,3}的(?:[，。,\s]|$)", text[at:at + 6]))
    if re.search(r"(?:今天|明天|回去|马上|下周|下个礼拜|等会|一会)[^，。]{0,6}把", before + " ") or \
            re.search(r"(?:今天|明天|回去|马上|下周|等会|一会)[^，。]{0,8}$", before) and "把" in before:
        return False  # "今天把差评删了": 把…了 with a time to come is what will be done
    if "当场" in before and not PAST_RE.search(before):
        return False  # "钱阿姨当场付了…": done at this hearing, a term performed on the spot
    # "就现在给了吧": 了吧 / 了啊 urges, it does not report
    return done or bool(PAST_RE.search(before)) or bool(
        re.match(r".{1,2}(了|过)(?!再|吧|啊|嘛)", after) and "会" not in before)
