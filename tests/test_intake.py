"""The intake rules (GB 11643 ID numbers, who an agent speaks for, 拒绝提供 only at
consultations), the message catalogue (every code said in both languages, validation problems
in words) and the database gaining a column added since it was made."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest

from scribe.web import intake, messages
from scribe.web.i18n import table, word
from scribe.web.schemas import HearingKind, PartyIn, PartyRole

DAY = dt.date(2026, 12, 1)


@pytest.mark.parametrize(("number", "problem"), [
    ("11010519491231002X", None),  # the standard's own example
    ("11010519491231002x", None),  # a lower-case x is the same number
    ("430102197803151233", None),
    ("430102197803151230", ("id_checksum", {"expected": "3"})),
    ("11010519491231002", ("id_shape", {})),
    ("1101051949123100XX", ("id_shape", {})),
    ("110105194902300021", ("id_birth", {})),  # 30 February
    ("110105209901010010", ("id_birth", {})),  # born in the future
])
def test_resident_id_numbers_are_checked_as_gb_11643_says(number: str, problem: tuple | None) -> None:
    assert intake.id_number_problem(number) == problem


def _party(**kw: object) -> PartyIn:
    return PartyIn.model_validate({"role": "applicant", "name": "张三", **kw})


def test_the_id_number_must_agree_with_the_gender_birth_date_and_age_typed() -> None:
    kinds = [p.kind for p in intake.check_parties(HearingKind.MEDIATION, [
        _party(gender="女", id_number="430102197803151233"),
        _party(birth_date="1978-03-16", id_number="430102197803151233"),
        _party(age=30, id_number="430102197803151233"),
        _party(gender="男", birth_date="1978-03-15", age=48, id_number="430102197803151233"),
    ], DAY)]
    assert kinds == ["id_gender", "id_birth_mismatch", "age_mismatch"]
    record = intake.party_record(_party(id_number="430102197803151233"), DAY)
    assert (record["gender"], record["birth_date"], record["age"]) == ("男", "1978-03-15", 48)


def test_agents_name_a_principal_party_and_identity_may_be_declined_only_at_consultations() -> None:
    parties = [_party(), PartyIn(role=PartyRole.AGENT, name="王律师"), PartyIn(role=PartyRole.AGENT, name="赵", represents=1),
               PartyIn(role=PartyRole.WITNESS, name="钱", represents=0)]
    got = [(p.party, p.field, p.kind) for p in intake.check_parties(HearingKind.MEDIATION, parties, DAY)]
    assert got == [(1, "represents", "missing"), (2, "represents", "represents_invalid"),
                   (3, "represents", "represents_not_agent")]
    declined = PartyIn(role=PartyRole.VISITOR, identity_declined=True)
    assert intake.check_parties(HearingKind.CONSULTATION, [declined], DAY) == []
    got = [p.kind for p in intake.check_parties(HearingKind.MEDIATION, [_party(identity_declined=True)], DAY)]
    assert got == ["declined_in_mediation"]
    assert [p.kind for p in intake.check_parties(HearingKind.MEDIATION, [declined], DAY)] == \
        ["visitor_in_mediation", "declined_in_mediation"]


def test_phone_numbers_and_birth_dates_are_checked() -> None:
    got = [(p.field, p.kind) for p in intake.check_parties(HearingKind.MEDIATION, [
        _party(phone="138-0000-0000"), _party(phone="0731 8888 0000转12"), _party(phone="电话"), _party(phone="12"),
        _party(birth_date="2027-01-01"),
    ], DAY)]
    assert got == [("phone", "phone_format"), ("phone", "phone_format"), ("birth_date", "birth_date_range")]


def test_every_code_and_problem_is_said_in_chinese_and_english() -> None:
    slot = re.compile(r"\{(\w+)(?:@\w+)?\}")
    for name, (zh, en) in {**messages.MESSAGES, **messages.PROBLEMS}.items():
        assert re.search(r"[\u4e00-\u9fff]", zh) or name == "invalid", name
        assert not re.search(r"[\u4e00-\u9fff]", en.replace("（2026）城人调字第12号", "")), name
        assert sorted(slot.findall(zh)) == sorted(slot.findall(en)), name  # the same parameters
    for key in ("field_", "problem_", "err_"):
        assert any(k.startswith(key) for k in table("zh"))


def test_a_problem_names_the_person_and_the_field() -> None:
    problems = messages.problems_from_pydantic(
        [{"type": "missing", "loc": ("body", "parties", 0, "gender"), "msg": "Field required"},
         {"type": "string_too_long", "loc": ("body", "parties", 1, "name"), "msg": "...", "ctx": {"max_length": 64}},
         {"type": "string_too_long", "loc": ("body", "case_number"), "msg": "...", "ctx": {"max_length": 64}}],
        {"parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": ""}]},
    )
    zh = messages.render("invalid", {"problems": problems}, "zh", word("zh"))
    en = messages.render("invalid", {"problems": problems}, "en", word("en"))
    assert zh == "申请人 张三：缺少性别；被申请人（第2位）：姓名最多 64 个字；案号最多 64 个字"
    assert en == "Applicant 张三: gender is missing; Respondent #2: name has at most 64 characters; " \
                 "case number has at most 64 characters"


def test_english_sentences_of_other_areas_are_mapped_to_their_code() -> None:
    assert messages.classify(401, "wrong user name or password", "error", {}) == ("login_failed", {})
    code, params = messages.classify(429, "too many failed logins", "error", {}, {"Retry-After": "240"})
    assert code == "too_many_logins" and params["minutes"] == 4
    assert messages.classify(409, "cannot record: the hearing is stopped", "state_transition",
                             {"step": "record", "state": "stopped"})[0] == "state_transition"
    assert messages.render("state_transition", {"step": "record", "state": "stopped"}, "zh", word("zh")) == \
        "案件当前状态为“已结束”，不能录音"
    assert messages.classify(418, "whatever", "error", {})[0] == "error"
    assert messages.classify(404, "Not Found", "error", {})[0] == "http_404"


def test_a_database_made_before_the_staff_column_gains_it(tmp_path: Path) -> None:
    from server import _import_tables

    from scribe.storage import Database

    _import_tables()
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE hearings (id VARCHAR(32) PRIMARY KEY, office VARCHAR(128))")
        old.execute("INSERT INTO hearings VALUES ('h1', '城关司法所')")
    db = Database(f"sqlite:///{path}")
    db.create_schema()
    db.dispose()
    with sqlite3.connect(path) as new:
        columns = {row[1] for row in new.execute("PRAGMA table_info(hearings)")}
        assert "staff" in columns
        assert new.execute("SELECT id, staff FROM hearings").fetchall() == [("h1", None)]


def test_the_lockout_and_consent_sentences_are_said_from_the_catalogue() -> None:
    locked = "该账户密码错误次数过多，已暂时锁定 — 请 10 分钟后再试，或请管理员解锁（too many wrong passwords: the account is locked for now）"
    code, params = messages.classify(429, locked, "error", {}, {"Retry-After": "600"})
    assert code == "account_locked" and params["minutes"] == 10
    assert messages.render(code, params, "zh", word("zh")) == "该账户因多次登录失败已被锁定，请 10 分钟后再试，或请管理员解锁"
    code, params = messages.classify(409, "recording refused: no consent on record from 张三、李四", "session", {})
    assert (code, params["names"]) == ("consent_missing", "张三、李四")
    assert messages.classify(409, "consent needs the recording notice to have been read to the party first",
                             "session", {})[0] == "consent_notice_unread"
