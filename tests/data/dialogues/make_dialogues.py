"""Writes the test dialogues as the files `scribe draft` reads (run from the checkout root):

    python tests/data/dialogues/make_dialogues.py

For each dialogue: ``<name>.transcript.json`` (the transcript contract, as `scribe transcribe`
writes it: sentence-level segments with speaker labels), ``<name>.session.json`` (S.json as
staff would type it: deliberately incomplete so missing fields can be checked) and
``<name>.expected.json`` (the field values a careful human drafter would write; the extraction
benchmark scores against them).

The dialogues are written for these tests (no real case); names, places and numbers are made
up. Timing is synthetic: 0.22 s per character plus a 0.4 s pause between segments.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

DIALOGUES = {
    # -- 1. neighbours: a wall pulled down and a debt repaid in instalments -----------------
    "neighbour-wall": {
        "session": {
            "session_type": "mediation",
            "case_number": "（2026）城人调字第37号",
            "date": "2026-11-20",
            "start_time": "09:30",
            "place": "城关镇司法所调解室",
            "organisation": "城关镇人民调解委员会",
            "case_source": "当事人申请",
            "staff": [
                {"id": "m1", "role": "调解员", "name": "王建国"},
                {"id": "r1", "role": "记录人", "name": "李静"},
            ],
            "parties": [
                {"id": "p1", "role": "申请人", "name": "张建华", "gender": "男", "ethnicity": "汉族",
                 "age": 61, "occupation": "农民", "phone": "13907310001",
                 "address": "城关镇东风村三组12号"},
                {"id": "p2", "role": "被申请人", "name": "李国强", "gender": "男", "ethnicity": "汉族",
                 "address": "城关镇东风村三组14号"},
            ],
            "hotwords": ["张建华", "李国强", "院墙"],
            "speakers": {"SPEAKER_00": "m1", "SPEAKER_01": "p1", "SPEAKER_02": "p2"},
        },
        "turns": [
            ("SPEAKER_00", "今天我们在这里调解张建华和李国强之间的纠纷。本调解室已安装同步录音录像设备，双方同意吗？"),
            ("SPEAKER_01", "同意。"),
            ("SPEAKER_02", "同意。"),
            ("SPEAKER_00", "请申请人先说一下情况。"),
            ("SPEAKER_01", "我叫张建华，我和李国强是邻居。今年八月份他家翻盖房子，把我们两家中间的院墙推倒了，说是墙歪了要重砌，结果一直没有砌回来。另外前年他向我借了两万元，说好去年年底还，到现在也没还。"),
            ("SPEAKER_00", "被申请人，你说说你的意见。"),
            ("SPEAKER_02", "我叫李国强，我今年五十八岁。院墙确实是我拆的，那堵墙本来就裂了，下雨的时候往我家这边倒，不拆不安全。钱是借了两万，我不否认，就是今年手头紧，一下子拿不出来。"),
            ("SPEAKER_00", "经了解，双方争议的焦点有两个：一是被拆除院墙的重建和费用，二是两万元借款的归还。院墙拆除前没有和邻居商量，被申请人有一定责任；申请人对墙体开裂也没有及时维修，双方都有责任。"),
            ("SPEAKER_01", "墙我可以出一部分钱，但是借款他得还。"),
            ("SPEAKER_02", "借款我认，能不能分几次还。"),
            ("SPEAKER_00", "根据《民法典》第二百八十八条，相邻权利人应当按照有利生产、方便生活、团结互助、公平合理的原则，正确处理相邻关系。借款到期应当归还，这是《民法典》第六百七十五条的规定。"),
            ("SPEAKER_00", "经调解，双方自愿达成如下协议：第一，李国强负责在三十日内将拆除的院墙按原位置、原高度重新砌好，费用由双方各承担一半。"),
            ("SPEAKER_01", "同意。"),
            ("SPEAKER_00", "第二，李国强欠张建华的借款两万元分三期归还，2026年12月31日前支付八千元，2027年1月31日前支付六千元，2027年2月28日前支付六千元，通过银行转账打到张建华的银行卡。"),
            ("SPEAKER_02", "没意见。"),
            ("SPEAKER_00", "第三，双方今后和睦相处，不再因院墙问题发生争执。"),
            ("SPEAKER_00", "以上协议，双方有没有意见？"),
            ("SPEAKER_01", "没有。"),
            ("SPEAKER_02", "没有。"),
            ("SPEAKER_00", "好，请双方签字。"),
        ],
        "expected": {
            "template": "mediation-agreement",
            "parties": [
                {"name": "张建华", "age": 61, "phone": "13907310001"},
                {"name": "李国强", "age": 58, "phone": None, "occupation": None},
            ],
            "dispute_category": "邻里",
            "terms": [
                "李国强负责在三十日内将拆除的院墙按原位置、原高度重新砌好，费用由双方各承担一半。",
                "李国强欠张建华的借款两万元分三期归还，2026年12月31日前支付八千元，2027年1月31日前支付六千元，2027年2月28日前支付六千元，通过银行转账打到张建华的银行卡。",
                "双方今后和睦相处，不再因院墙问题发生争执。",
            ],
            "amounts": [20000, 8000, 6000, 6000],
            "deadline_dates": ["2026-12-20", "2026-12-31", "2027-01-31", "2027-02-28"],
            "performance_deadline": "2027-02-28",
            "performance_manner": ["分三期", "银行转账"],
            "performance_place": None,
            "legal_bases": ["《民法典》第二百八十八条", "《民法典》第六百七十五条"],
            "facts_keywords": ["院墙", "两万", "借"],
            "responsibility": True,
            "copies": 3,
            "judicial_confirmation_deadline": "2026-12-20",
        },
    },
    # -- 2. a wage-arrears consultation at the public legal service centre ------------------
    "wage-arrears": {
        "session": {
            "session_type": "consultation",
            "case_number": "城法咨〔2026〕第0412号",
            "date": "2026-11-21",
            "start_time": "14:10",
            "place": "城关镇公共法律服务工作站",
            "organisation": "城关镇公共法律服务工作站",
            "consultation_channel": "现场来访",
            "staff": [{"id": "s1", "role": "接待人", "name": "刘敏"}],
            "parties": [{"id": "v1", "role": "咨询人", "gender": "女"}],
            "hotwords": ["包工头", "总承包单位"],
            "speakers": {"SPEAKER_00": "s1", "SPEAKER_01": "v1"},
        },
        "turns": [
            ("SPEAKER_00", "您好，请坐，您想咨询什么问题？"),
            ("SPEAKER_01", "您好，我叫赵春梅，我今年四十六岁。我在城东的一个建筑工地干了八个月，包工头一直拖着工资不给，一共欠了我三万六千元。我想问问这钱还能要回来吗？我该怎么办？"),
            ("SPEAKER_00", "您和包工头或者公司签过劳动合同吗？有没有考勤记录或者工资条？"),
            ("SPEAKER_01", "没签合同，但是有微信上的考勤记录，还有包工头写的欠条。"),
            ("SPEAKER_00", "有欠条就好。根据《保障农民工工资支付条例》第三十条，分包单位拖欠农民工工资的，由施工总承包单位先行清偿。您可以先找施工总承包单位要求支付。"),
            ("SPEAKER_00", "如果对方还是不给，您可以向劳动保障监察部门投诉，也可以向劳动人事争议仲裁委员会申请劳动仲裁。按照《劳动争议调解仲裁法》第二十七条，仲裁时效是一年。"),
            ("SPEAKER_00", "您的情况符合法律援助条件，我们可以帮您申请法律援助，由律师代理。"),
            ("SPEAKER_01", "那太好了，申请法律援助需要带什么材料？"),
            ("SPEAKER_00", "带上身份证、欠条、考勤记录，到我们中心一楼法律援助窗口填表就可以。"),
            ("SPEAKER_01", "好的，谢谢您。"),
        ],
        "expected": {
            "template": "consultation-record",
            "visitor": {"name": "赵春梅", "age": 46, "gender": "女", "phone": None},
            "category": "拖欠农民工工资",
            "question_keywords": ["包工头", "三万六千元", "怎么办"],
            "answer_keywords": ["总承包单位", "劳动仲裁", "法律援助"],
            "legal_bases": ["《保障农民工工资支付条例》第三十条", "《劳动争议调解仲裁法》第二十七条"],
            "outcome": ["转法律援助", "引导劳动仲裁"],
            "amounts": [36000],
            "satisfaction": None,
        },
    },
    # -- 3. divorce property with three parties (the husband's mother joins) -----------------
    "divorce-property": {
        "session": {
            "session_type": "mediation",
            "case_number": "（2026）城人调字第41号",
            "date": "2026-11-24",
            "start_time": "15:00",
            "place": "城关镇司法所调解室",
            "organisation": "城关镇人民调解委员会",
            "matter": "离婚后财产纠纷",
            "staff": [
                {"id": "m1", "role": "调解员", "name": "王建国"},
                {"id": "m2", "role": "调解员", "name": "孙红"},
                {"id": "r1", "role": "记录人", "name": "李静"},
            ],
            "parties": [
                {"id": "p1", "role": "申请人", "name": "陈丽", "gender": "女", "ethnicity": "汉族", "age": 34,
                 "occupation": "教师", "phone": "13807310002", "address": "城关镇幸福小区3栋502室"},
                {"id": "p2", "role": "被申请人", "name": "周伟", "gender": "男", "ethnicity": "汉族", "age": 36,
                 "occupation": "个体经营", "phone": "13807310003", "address": "城关镇建设路88号"},
                {"id": "p3", "role": "第三人", "name": "孙桂兰", "gender": "女", "ethnicity": "汉族", "age": 63,
                 "occupation": "退休职工", "phone": "13807310004", "address": "城关镇建设路88号"},
            ],
            "hotwords": ["陈丽", "周伟", "孙桂兰", "幸福小区"],
            "speakers": {"SPEAKER_00": "m1", "SPEAKER_01": "p1", "SPEAKER_02": "p2", "SPEAKER_03": "p3"},
        },
        "turns": [
            ("SPEAKER_00", "今天调解陈丽与周伟离婚后财产分割纠纷，周伟的母亲孙桂兰作为第三人参加。请申请人先讲。"),
            ("SPEAKER_01", "我和周伟今年九月在民政局协议离婚了，但是婚后买的那套房子和车子没有分清楚。房子首付三十万元是我们俩一起攒的，孙阿姨说首付里有她出的十万元。"),
            ("SPEAKER_02", "房子首付确实有我妈出的十万，这个钱应该还给她。车子是我开的，我想留下车。"),
            ("SPEAKER_03", "那十万块钱是我借给他们买房的，不是送的，有转账记录。"),
            ("SPEAKER_00", "依照《民法典》第一千零八十七条，离婚时夫妻的共同财产由双方协议处理。争议焦点是房屋归属、车辆归属和孙桂兰出资十万元的性质。"),
            ("SPEAKER_01", "房子我想要，孩子跟我住，需要房子。"),
            ("SPEAKER_00", "经调解，三方自愿达成如下协议：一、位于城关镇幸福小区3栋502室的房屋归陈丽所有，剩余贷款由陈丽负责偿还。"),
            ("SPEAKER_00", "二、陈丽于十五日内向周伟支付房屋折价款十二万元。三、周伟于本月底前向孙桂兰归还借款十万元。"),
            ("SPEAKER_00", "四、小轿车一辆归周伟所有，周伟于2026年12月15日前在城关镇司法所当面向陈丽支付车辆折价款三万五千元。"),
            ("SPEAKER_02", "我同意。"),
            ("SPEAKER_03", "我也同意。"),
            ("SPEAKER_00", "以上协议内容三方是否有异议？没有异议的话请签字。"),
        ],
        "expected": {
            "template": "mediation-agreement",
            "parties": [{"name": "陈丽"}, {"name": "周伟"}, {"name": "孙桂兰"}],
            "dispute_category": "婚姻家庭",
            "terms": [
                "位于城关镇幸福小区3栋502室的房屋归陈丽所有，剩余贷款由陈丽负责偿还。",
                "陈丽于十五日内向周伟支付房屋折价款十二万元。",
                "周伟于本月底前向孙桂兰归还借款十万元。",
                "小轿车一辆归周伟所有，周伟于2026年12月15日前在城关镇司法所当面向陈丽支付车辆折价款三万五千元。",
            ],
            "amounts": [120000, 100000, 35000],
            "deadline_dates": ["2026-12-09", "2026-11-30", "2026-12-15"],
            "performance_deadline": "2026-12-15",
            "performance_manner": ["当面支付"],
            "performance_place": "城关镇司法所",
            "legal_bases": ["《民法典》第一千零八十七条"],
            "facts_keywords": ["房子", "十万", "车"],
            "responsibility": False,
            "copies": 4,
            "judicial_confirmation_deadline": "2026-12-24",
        },
    },
    # -- 4. a traffic accident: an agent speaks for the respondent; other cue and enumerators ---
    "traffic-compensation": {
        "session": {
            "session_type": "mediation",
            "case_number": "（2026）城人调字第45号",
            "date": "2026-12-02",
            "place": "城关镇交通事故调解室",
            "organisation": "城关镇人民调解委员会",
            "staff": [{"id": "m1", "role": "mediator", "name": "赵敏"}],
            "parties": [
                {"id": "p1", "role": "applicant", "name": "刘洋", "gender": "male", "ethnicity": "汉族", "age": 29,
                 "occupation": "外卖骑手", "phone": "13607310005", "address": "城关镇南门街6号"},
                {"id": "p2", "role": "respondent", "name": "何志明", "gender": "male", "ethnicity": "汉族",
                 "age": 45, "occupation": "货车司机", "phone": "13607310006", "address": "城关镇北环路21号"},
                {"id": "a1", "role": "agent", "name": "何小军", "represents": "p2"},
            ],
            "speakers": {"SPEAKER_00": "m1", "SPEAKER_01": "p1", "SPEAKER_02": "a1", "SPEAKER_03": "p2"},
        },
        "turns": [
            ("SPEAKER_00", "今天调解的是刘洋和何志明的交通事故赔偿问题，何志明的儿子何小军作为代理人参加。"),
            ("SPEAKER_01", "上个月12号我骑电动车送外卖，他的货车右转的时候把我撞了，腿骨折，住院花了8600元，误工两个月。交警认定他负主要责任。"),
            ("SPEAKER_02", "我爸承认是他的主要责任，医药费我们认，但是误工费要得太多了，他要三万，我们最多给一万。"),
            ("SPEAKER_03", "我也不是故意的，钱我一下子拿不出那么多。"),
            ("SPEAKER_00", "依照道路交通安全法第76条，机动车与非机动车驾驶人之间发生交通事故，由机动车一方承担赔偿责任。双方都让一步。"),
            ("SPEAKER_00", "好，我把调解协议念一下。首先，何志明赔偿刘洋医疗费8600元、误工费1.2万元，共计20600元。其次，首期1万元于七日内通过微信转账支付，余款10600元于年底前付清。最后，刘洋收到全部款项后不再就本次事故向何志明主张任何权利。"),
            ("SPEAKER_01", "可以。"),
            ("SPEAKER_02", "没问题。"),
            ("SPEAKER_00", "双方还有没有意见？没有的话签字。"),
        ],
        "expected": {
            "template": "mediation-agreement",
            "parties": [{"name": "刘洋", "age": 29}, {"name": "何志明", "age": 45}],
            "dispute_category": "道路交通事故",
            "terms": [
                "何志明赔偿刘洋医疗费8600元、误工费1.2万元，共计20600元。",
                "首期1万元于七日内通过微信转账支付，余款10600元于年底前付清。",
                "刘洋收到全部款项后不再就本次事故向何志明主张任何权利。",
            ],
            "amounts": [8600, 12000, 20600, 10000, 10600],
            "deadline_dates": ["2026-12-09", "2026-12-31"],
            "performance_deadline": "2026-12-31",
            "performance_manner": ["微信转账"],
            "performance_place": None,
            "legal_bases": ["《道路交通安全法》第七十六条"],
            "facts_keywords": ["货车", "骨折", "8600"],
            "responsibility": False,
            "copies": 3,
            "judicial_confirmation_deadline": "2027-01-01",
        },
    },
    # -- 5. a 12348 phone consultation: the caller declines to give identity -------------------
    "custody-phone": {
        "session": {
            "session_type": "consultation",
            "case_number": "城法咨〔2026〕第0455号",
            "date": "2026-12-03",
            "start_time": "10:20",
            "organisation": "城关镇公共法律服务工作站",
            "consultation_channel": "12348",
            "staff": [{"id": "s1", "role": "staff", "name": "刘敏"}],
            "parties": [{"id": "v1", "role": "visitor", "identity_declined": True}],
            "speakers": {"SPEAKER_00": "s1", "SPEAKER_01": "v1"},
        },
        "turns": [
            ("SPEAKER_00", "您好，这里是12348法律服务热线，请问有什么可以帮您？"),
            ("SPEAKER_01", "我不方便说名字。我离婚三年了，孩子跟前夫，他现在不让我见孩子，我想问我有没有探望的权利，能不能把抚养权要回来？"),
            ("SPEAKER_00", "不离婚的一方有探望子女的权利，另一方有协助的义务，这是民法典第1086条规定的。"),
            ("SPEAKER_00", "如果对方不让探望，您可以先找当地人民调解委员会申请调解，调解不成可以向人民法院起诉。变更抚养权要看孩子的实际情况，孩子满八周岁的还要尊重孩子的意愿。"),
            ("SPEAKER_01", "好的，我明白了，谢谢。"),
        ],
        "expected": {
            "template": "consultation-record",
            "visitor": {"identity_declined": True, "name": None},
            "category": "婚姻家庭",
            "question_keywords": ["探望", "抚养权"],
            "answer_keywords": ["探望", "调解", "起诉"],
            "legal_bases": ["《民法典》第一千零八十六条"],
            "outcome": ["转人民调解", "引导诉讼"],
            "amounts": [],
            "satisfaction": None,
        },
    },
}

SECONDS_PER_CHAR = 0.22
PAUSE = 0.4


def transcript(turns: list[tuple[str, str]]) -> dict:
    segments = []
    t = 0.6
    for speaker, text in turns:
        # a recogniser cuts long turns into sentence-sized segments of the same speaker
        pieces = [p for p in re.split(r"(?<=[。？！])", text) if p] if len(text) > 60 else [text]
        for piece in pieces:
            end = t + SECONDS_PER_CHAR * len(piece)
            segments.append({"start": round(t, 3), "end": round(end, 3), "speaker": speaker,
                             "text": piece, "words": []})
            t = end + PAUSE
    return {"language": "zh", "duration": round(t, 3), "model": "hand-written test dialogue",
            "segments": segments}


def main() -> None:
    for name, d in DIALOGUES.items():
        for suffix, data in (("transcript", transcript(d["turns"])), ("session", d["session"]),
                             ("expected", d["expected"])):
            (HERE / f"{name}.{suffix}.json").write_text(
                json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(name)


if __name__ == "__main__":
    main()
