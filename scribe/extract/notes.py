"""What a draft field's note tells the reviewer, in Chinese (the record's language, shown by
default and sent to the case system) and in English (for the English review page).

Every note the extractors write comes from here, so a reviewer never meets a machine-English
sentence on the Chinese page.
"""

from __future__ import annotations

from dataclasses import dataclass

# How person details are named in notes (the keys of the session file's party records).
DETAIL_ZH = {
    "name": "姓名", "gender": "性别", "ethnicity": "民族", "age": "年龄", "occupation": "职业",
    "phone": "联系电话", "address": "住址", "id_number": "身份证号码", "workplace": "工作单位",
}
DEADLINE_KIND_ZH = {"relative": "相对", "month_end": "月底", "year_end": "年底", "absolute": "具体日期",
                    "day_of_month": "某月某日", "spring_festival": "春节前（除夕）", "today": "当天"}


@dataclass(frozen=True)
class Note:
    zh: str
    en: str


def no_staff_named(role: str) -> Note:
    return Note(f"案件登记中未填写{role}", f"no {role} named in the session file")


NOT_GIVEN = Note("案件登记中没有，录音中也未提及", "not in the session file and not said in the recording")
NO_CATEGORY = Note("录音中没有明显的纠纷类别，请选择", "no dispute category stands out in the recording; choose one")
NO_STATUTE = Note("未引用法律条文", "no statute was cited")
STATED_BY_PARTY = Note("当事人在录音中自述", "stated by the party in the recording")
SIGNED_ON_SESSION_DATE = Note("协议以调解当日为签订日期", "the agreement is taken to be signed on the session date")
NO_PARTIES_IN_FILE = Note("案件登记中没有申请人/被申请人", "no 申请人/被申请人 in the session file")
PARTIES_OWN_WORDS = Note("摘录：当事人原话", "extractive: the parties' own sentences")
NO_FACTS = Note("录音中没有当事人陈述纠纷事实", "no party described the dispute in the recording")
NO_RESPONSIBILITY = Note("调解员未说明责任认定", "the mediator did not state responsibilities")
NO_TERMS = Note("录音中没有找到双方同意的义务（谁、做什么、多少、何时）；候选项见旁边的列表",
                "no obligation both sides agreed to was found (who, what, how much, by when); see the candidates beside the draft")
NO_MANNER = Note("协议条款未说明履行方式（转账/现金/分期）", "the terms do not say how they are performed (转账/现金/分期)")
NO_PLACE = Note("协议条款未说明履行地点", "the terms do not say where they are performed")
NO_DEADLINE = Note("协议条款中未提及履行期限", "no deadline was said in the terms")
COPIES = Note("每方当事人各一份，调解委员会留存一份（人民调解法 第二十九条）",
              "one per party plus one for the committee (人民调解法 第二十九条)")
NO_PARTIES = Note("没有当事人", "no parties")
CONFIRMATION = Note("协议生效之日起30日内（人民调解法 第三十三条）",
                    "30 days after the agreement takes effect (人民调解法 第三十三条)")
NO_VISITOR = Note("案件登记中没有咨询人", "no 咨询人 in the session file")
IDENTITY_DECLINED = Note("咨询人拒绝提供身份信息", "the visitor declined to give identity details")
VISITOR_OWN_WORDS = Note("咨询人原话", "the visitor's own sentences")
NO_QUESTION = Note("未找到咨询人提出的问题（请检查说话人与人员的对应）",
                   "no question from the 咨询人 was found (check the speaker mapping)")
STAFF_OWN_WORDS = Note("接待人员原话", "the staff's own sentences")
NO_ANSWER = Note("未找到接待人员的解答", "no answer by staff was found")
ANSWERED_NO_REFERRAL = Note("已解答；未提及转介", "answered; no referral was said")
NO_OUTCOME = Note("未找到接待人员的解答，因此无法确定处理结果", "the staff's answer was not found, so neither is the outcome")
ASK_SATISFACTION = Note("归档前请询问咨询人满意度（1-4）", "ask the visitor (1-4) before filing")
FILL_AFTER_FOLLOW_UP = Note("回访后填写", "fill in after the follow-up call")
NO_CAUSE = Note("案件登记中没有事由，录音中也没有明显的纠纷类别", "事由 not in the session file and no category stands out")
NONE = Note("无", "none")
SPEAKER_UNMAPPED = Note("案件登记中未将该说话人对应到具体人员", "speaker label not mapped to a person in the session file")
NO_SPEECH = Note("转写中没有讲话内容", "the transcript has no speech")
UNRECOGNISED = Note("此处有讲话未能识别，请回放录音核对并补录",
                    "speech here was not recognised: play the recording back and fill it in")


NO_OUTCOME_HEARD = Note("录音中没有听出调解结果（达成协议/调解不成/调解终止），请填写",
                        "no outcome (agreed / not agreed / ended) was heard in the recording; fill it in")
NO_REASON = Note("未说明调解不成的原因", "the reason was not said")
NO_REMEDIES = Note("录音中未告知当事人诉讼/仲裁途径", "the parties were not told of court/arbitration in the recording")


def outcome_from(outcome: str) -> Note:
    return Note(f"调解结果“{outcome}”，依据引文中的原话", f"outcome {outcome}, from the words quoted")


def term_status(reason: str) -> Note:
    en = {"对方同意": "the other side assented", "调解员口述，无人反对": "dictated by the mediator, nobody objected",
          "当事人自己承诺，无人反对": "a party's own promise, nobody objected"}.get(reason, reason)
    return Note(f"义务条款：{reason}", f"obligation: {en}")


def keywords(hits: list[str]) -> Note:
    words = "、".join(hits)
    return Note(f"关键词：{words}", f"keywords: {words}")


def detail_missing(person: str, key: str) -> Note:
    return Note(f"{person}：案件登记中没有{DETAIL_ZH.get(key, key)}，录音中也未提及",
                f"{person}: {key} not in the session file and not stated")


def deadline_counted(kind: str, session_date: str) -> Note:
    return Note(f"{DEADLINE_KIND_ZH.get(kind, kind)}期限，自调解日期{session_date}起算",
                f"{kind} deadline counted from the session date {session_date}")


def latest_deadline(phrase: str) -> Note:
    return Note(f"取各条款中最晚的期限：“{phrase}”", f"the latest deadline of the terms: “{phrase}”")


def rewritten_by_model(support: float) -> Note:
    return Note(f"由起草模型改写（{support:.0%}的措辞来自原话）",
                f"rewritten by the drafting model ({support:.0%} of wording said)")


def edited_by(user: str) -> Note:
    return Note(f"由{user}修改", f"edited by {user}")
