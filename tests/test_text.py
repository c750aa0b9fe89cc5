"""Mandarin typesetting, hallucination filtering and score normalisation (no models)."""

from scribe.text.hallucination import clean_segment_text, is_repeat
from scribe.text.normalize import error_rate, normalize_en, normalize_zh
from scribe.text.zh import finish_mandarin, finish_text, to_simplified


def test_traditional_becomes_simplified_with_chinese_punctuation():
    out = finish_mandarin("近幾年,不但我用書給女兒壓歲,也勸說親朋不要給女兒壓歲錢")
    assert out == "近几年，不但我用书给女儿压岁，也劝说亲朋不要给女儿压岁钱。"


def test_pause_spaces_become_commas_and_digits_stay_readable():
    assert finish_mandarin("甚至出现交易 几乎停滞的情况") == "甚至出现交易，几乎停滞的情况。"
    assert finish_mandarin("约定 2026 年 3 月 15 日前还款 5000 元") == "约定2026年3月15日前还款5000元。"
    assert finish_mandarin("价格是3.5万元,时间是10:30") == "价格是3.5万元，时间是10:30"


def test_english_words_inside_mandarin_keep_their_spaces():
    assert finish_mandarin("他说 OK 我们用 iPhone 拍了照片") == "他说 OK 我们用 iPhone 拍了照片。"
    assert finish_text("  Hello   there ", "en") == "Hello there"


def test_known_hallucinations_are_removed_and_real_speech_kept():
    for invented in ("字幕由Amara.org社区提供", "請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目",
                     "谢谢观看", "Thanks for watching!", "中文字幕提供"):
        assert clean_segment_text(invented).text == "", invented
    mixed = clean_segment_text("好的，谢谢大家的观看。今天就到这里")
    assert mixed.text == "好的，今天就到这里"
    assert clean_segment_text("字幕由Amara.org社区提供 我们开始调解今天的纠纷").text == "我们开始调解今天的纠纷"
    real = "被申请人同意分三期还款，每期五千元"
    assert clean_segment_text(real).text == real


def test_repetition_loops_and_repeated_lines():
    assert clean_segment_text("对对对对对对对对").text == "对"
    assert is_repeat("我同意分三期还款。", ["我同意分三期还款"])
    assert not is_repeat("好的", ["好的"])  # people really do say it twice
    assert is_repeat("好的", ["好的", "好的"])


def test_normalisation_for_scoring():
    assert normalize_zh("一二線城市，雖然！") == "12线城市虽然"
    assert normalize_zh("12线城市") == normalize_zh("一二线城市")
    assert normalize_en("In 1813, the Press-Yard.") == "in eighteen thirteen the press yard"
    assert normalize_en("I paid 250 dollars") == "i paid two hundred and fifty dollars"
    assert error_rate(["甚至出现交易几乎停滞的情况"], ["甚至出現交易幾乎停滯的情況。"], "zh") == 0.0
    assert to_simplified("English only") == "English only"
