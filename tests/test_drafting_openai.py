"""The OpenAI-compatible drafting backend against a real server process on loopback.

``tests/chat_server.py`` runs as its own process (uvicorn on 127.0.0.1) and speaks the
chat-completions protocol over real HTTP; its answers are scripted per case (the request's
``model``), so what is tested is this side: the request it sends (the drafter's prompt, the
schema as response_format, greedy, the API key), what it does with each answer (schema
validation, the evidence check value by value) and the fallback to the rules on every failure
(timeout, refused connection, HTTP error, a reply that is no chat completion, bad JSON), with
the reason in the warnings and in ``drafter``. A real model behind llama.cpp's server is in
tests/test_drafting_llamacpp.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scribe.drafting import SYSTEM_PROMPT, OpenAIChatGenerator, draft_document, load_generator
from scribe.extract import rule_draft
from scribe.extract.fields import Source
from scribe.settings import Settings
from tests.chat_server import requests_for, running
from tests.dialogues import load

ROOT = Path(__file__).resolve().parent.parent
FACTS = "被申请人李国强今年八月翻盖房子时推倒了两家中间的院墙，至今没有砌回；前年李国强向申请人张建华借款两万元，到期未还。"
FACTS_QUOTES = ["今年八月份他家翻盖房子，把我们两家中间的院墙推倒了", "前年他向我借了两万元"]
QUESTION = "来电人离婚三年，孩子跟前夫生活，前夫现在不让她见孩子；她想问自己有没有探望的权利，能不能把抚养权要回来。"
QUESTION_QUOTES = ["我离婚三年了，孩子跟前夫，他现在不让我见孩子", "我想问我有没有探望的权利，能不能把抚养权要回来"]


def _terms() -> list[dict]:
    """The three dictated terms, each quoting the mediator's sentence (punctuation changed, as
    models do: the check ignores punctuation, never wording)."""
    t = load("neighbour-wall").expected["terms"]
    return [
        {"text": t[0], "quotes": ["李国强负责在三十日内将拆除的院墙按原位置、原高度重新砌好，费用由双方各承担一半"]},
        {"text": t[1], "quotes": ["李国强欠张建华的借款两万元分三期归还，2026年12月31日前支付八千元,2027年1月31日前支付六千元，"
                                  "2027年2月28日前支付六千元，通过银行转账打到张建华的银行卡"]},
        {"text": t[2], "quotes": ["双方今后和睦相处，不再因院墙问题发生争执。"]},
    ]


def _answer(facts: dict | None = None, terms: list | None = None, **extra: object) -> str:
    body: dict = {"facts": facts or {"text": FACTS, "quotes": FACTS_QUOTES}}
    if terms is not None:
        body["terms"] = terms
    body.update(extra)
    return json.dumps(body, ensure_ascii=False)


def _cases() -> dict[str, dict]:
    terms = _terms()
    invented = dict(terms[1], quotes=["李国强欠张建华借款两万元，2026年12月31日前一次付清"])  # never said
    wrong_amount = dict(terms[1], text=terms[1]["text"].replace("八千元", "一万元"))
    return {
        "good": {"content": _answer(terms=terms)},
        "good-fenced": {"content": "```json\n" + _answer(terms=terms) + "\n```", "reject_formats": ["json_schema"]},
        "refuses-like-llama-cpp-python": {"content": _answer(terms=terms), "reject_formats": ["json_schema"],
                                          "reject_status": 500},
        "plain-500": {"status": 500, "content": "internal error"},
        "unquoted-facts": {"content": _answer({"text": FACTS, "quotes": ["李国强把院墙推倒后说以后再也不砌了"]}, terms)},
        "invented-term-quote": {"content": _answer(terms=[terms[0], invented, terms[2]])},
        "amount-not-in-quote": {"content": _answer(terms=[terms[0], wrong_amount, terms[2]])},
        "nothing-quoted": {"content": _answer({"text": FACTS, "quotes": ["双方签订了书面协议"]},
                                              [dict(terms[0], quotes=["李国强已经把院墙砌好了"])])},
        "slow": {"content": _answer(terms=terms), "delay_s": 6},
        "not-json": {"content": "好的，以下是协议书：第一，李国强负责重砌院墙。"},
        "cut-off": {"content": _answer(terms=terms)[:60], "finish_reason": "length"},
        "extra-key": {"content": _answer(terms=terms, summary="双方和解")},
        "facts-as-string": {"content": json.dumps({"facts": FACTS}, ensure_ascii=False)},
        "no-completion": {"raw": '{"object": "error", "detail": "model is loading"}'},
        "broken-body": {"raw": '{"choices": [{"message": {"content": "{\\"facts\\"'},
        "server-error": {"status": 500, "content": "CUDA error: out of memory"},
        "needs-key": {"content": _answer(terms=terms), "api_key": "site-secret"},
        "consult": {"content": _answer({"text": QUESTION, "quotes": QUESTION_QUOTES})},
    }


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The scripted server as a real separate process; yields its base URL and request log."""
    with running(_cases(), tmp_path_factory.mktemp("chat")) as server:
        yield server


def _draft(url: str, case: str | None, *, timeout_s: float = 20, api_key: str | None = None,
           name: str = "neighbour-wall", kind: str = "mediation-agreement"):  # type: ignore[no-untyped-def]
    d = load(name)
    generator = OpenAIChatGenerator(url, model=case, api_key=api_key)
    return draft_document(d.transcript, d.casefile, kind=kind, template=kind, title="人民调解协议书",
                          generator=generator, timeout_s=timeout_s, max_new_tokens=512)


def _said(name: str = "neighbour-wall") -> list[str]:
    return [s.text for s in load(name).transcript.segments]


def test_good_answer_is_used_with_verbatim_evidence(chat_server: tuple[str, Path]) -> None:
    url, log = chat_server
    draft = _draft(url, "good")
    assert draft.drafter.method == "model" and draft.drafter.backend == "openai-chat"
    assert draft.drafter.model == "good" and draft.drafter.fallback is None
    facts = draft.fields["facts"]
    assert facts.source is Source.MODEL and facts.value == FACTS
    said = _said()
    # evidence: the quoted words as the transcript has them, with segment, time and speaker
    assert [e.quote for e in facts.evidence] == FACTS_QUOTES
    for e in facts.evidence:
        assert e.quote in said[e.segment] and e.role == "申请人" and e.speaker == "SPEAKER_01"
    terms = draft.fields["terms"]
    assert terms.source is Source.MODEL and terms.value == load("neighbour-wall").expected["terms"]
    second = terms.items[1].evidence[0]
    assert second.role == "调解员" and second.quote in said[second.segment] and "，2027年1月31日" in second.quote
    assert not any("dropped" in w for w in draft.warnings)
    # what was sent: the drafter's prompt and transcript, greedy, the schema as response_format
    (sent,) = requests_for(log, "good")
    body = sent["body"]
    assert body["temperature"] == 0 and body["max_tokens"] == 512 and body["stream"] is False
    assert body["messages"][0]["content"].startswith(SYSTEM_PROMPT)
    assert "调解员王建国：经调解，双方自愿达成如下协议" in body["messages"][1]["content"]
    schema = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["type"] == "json_schema" and schema["required"] == ["facts"]
    assert sent["authorization"] is None


def test_a_server_without_json_schema_gets_json_object_and_a_fenced_answer_is_read(
        chat_server: tuple[str, Path]) -> None:
    url, log = chat_server
    generator = OpenAIChatGenerator(url, model="good-fenced")
    d = load("neighbour-wall")
    for _ in range(2):
        draft = draft_document(d.transcript, d.casefile, kind="mediation-agreement", template="mediation-agreement",
                               title="人民调解协议书", generator=generator, timeout_s=20)
        assert draft.drafter.method == "model"
    formats = [r["body"]["response_format"]["type"] for r in requests_for(log, "good-fenced")]
    # refused once, then the form that worked is kept for the next draft
    assert formats == ["json_schema", "json_object", "json_object"]
    assert "properties" in requests_for(log, "good-fenced")[1]["body"]["response_format"]["schema"]
    # llama-cpp-python refuses it with a 500 naming response_format: the same retry
    draft = _draft(url, "refuses-like-llama-cpp-python")
    assert draft.drafter.method == "model"
    assert [r["body"]["response_format"]["type"] for r in requests_for(log, "refuses-like-llama-cpp-python")] == [
        "json_schema", "json_object"]
    # any other 500 is a failure, not a reason to ask again
    assert "HTTP 500" in (_draft(url, "plain-500").drafter.fallback or "")
    assert len(requests_for(log, "plain-500")) == 1


def test_facts_without_verbatim_evidence_are_dropped_and_the_terms_kept(chat_server: tuple[str, Path]) -> None:
    draft = _draft(chat_server[0], "unquoted-facts")
    assert draft.drafter.method == "model"
    assert draft.fields["facts"].source is Source.TRANSCRIPT  # the rules' facts stand
    assert draft.fields["terms"].source is Source.MODEL
    assert any("dropped its facts" in w and "李国强把院墙推倒后说以后再也不砌了" in w and "not in the transcript" in w
               for w in draft.warnings), draft.warnings


@pytest.mark.parametrize(("case", "reason"), [
    ("invented-term-quote", "is not in the transcript"),
    ("amount-not-in-quote", "an amount its quotes do not (一万元)"),
])
def test_a_term_without_evidence_is_dropped_and_the_rules_terms_stand(
        chat_server: tuple[str, Path], case: str, reason: str) -> None:
    draft = _draft(chat_server[0], case)
    terms = draft.fields["terms"]
    d = load("neighbour-wall")
    rules = rule_draft(d.transcript, d.casefile, kind="mediation-agreement")
    assert terms.source is Source.TRANSCRIPT and terms.value == rules.fields["terms"].value
    assert "一次付清" not in json.dumps(draft.values(), ensure_ascii=False)
    assert "一万元" not in json.dumps(draft.values(), ensure_ascii=False)
    assert draft.fields["facts"].source is Source.MODEL  # the facts had their evidence
    assert any("dropped 1 of its 3 terms" in w and reason in w and "kept the rule-based terms" in w
               for w in draft.warnings), draft.warnings


def test_an_answer_with_no_evidenced_value_falls_back_to_the_rules(chat_server: tuple[str, Path]) -> None:
    draft = _draft(chat_server[0], "nothing-quoted")
    assert draft.drafter.method == "rules" and draft.drafter.model == "nothing-quoted"
    assert draft.drafter.fallback == "no value of its answer passed the evidence check"
    assert draft.fields["facts"].source is Source.TRANSCRIPT and draft.fields["terms"].source is Source.TRANSCRIPT
    assert sum("dropped" in w for w in draft.warnings) == 2
    assert "已经把院墙砌好了" not in json.dumps(draft.values(), ensure_ascii=False)


def test_falls_back_on_a_timeout_without_waiting_for_the_server(chat_server: tuple[str, Path]) -> None:
    started = time.monotonic()
    draft = _draft(chat_server[0], "slow", timeout_s=1.5)
    waited = time.monotonic() - started
    assert waited < 5, waited  # the server answers after 6 s; the desk does not wait for it
    assert draft.drafter.method == "rules" and draft.drafter.fallback == "no complete answer within 1.5 s"
    assert any("slow: no complete answer within 1.5 s; kept the rule-based draft" in w for w in draft.warnings)
    assert draft.fields["terms"].source is Source.TRANSCRIPT


def test_falls_back_when_the_server_is_down() -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    draft = _draft(f"http://127.0.0.1:{port}/v1", "good")
    assert draft.drafter.method == "rules" and draft.drafter.backend == "openai-chat"
    assert draft.drafter.fallback.startswith(f"cannot reach the drafting server at http://127.0.0.1:{port}/v1")
    assert "SCRIBE_DRAFTING_URL" in draft.drafter.fallback
    d = load("neighbour-wall")
    rules = rule_draft(d.transcript, d.casefile, kind="mediation-agreement")
    assert draft.values() == rules.values() and draft.problems == rules.problems


@pytest.mark.parametrize(("case", "reason"), [
    ("not-json", "the output is not JSON"),
    ("cut-off", "(it stopped at the 512-token limit)"),
    ("extra-key", "the output does not fit the schema (summary: Extra inputs are not permitted)"),
    ("facts-as-string", "the output does not fit the schema (facts: Input should be an object)"),
    ("no-completion", "reply is not a chat completion"),
    ("broken-body", "reply is not a chat completion"),
    ("server-error", "answered HTTP 500 for model 'server-error'"),
    ("no-such-model", "answered HTTP 404 for model 'no-such-model'"),
])
def test_malformed_answers_are_refused(chat_server: tuple[str, Path], case: str, reason: str) -> None:
    draft = _draft(chat_server[0], case)
    assert draft.drafter.method == "rules"
    assert reason in (draft.drafter.fallback or ""), draft.drafter.fallback
    assert any(f"drafting model {case}: " in w and reason in w for w in draft.warnings), draft.warnings
    assert draft.fields["facts"].source is Source.TRANSCRIPT and draft.fields["terms"].source is Source.TRANSCRIPT


def test_api_key_is_sent_as_bearer_token(chat_server: tuple[str, Path]) -> None:
    url, log = chat_server
    refused = _draft(url, "needs-key")
    assert refused.drafter.method == "rules" and "HTTP 401" in refused.drafter.fallback
    assert "SCRIBE_DRAFTING_API_KEY" in refused.drafter.fallback
    assert _draft(url, "needs-key", api_key="site-secret").drafter.method == "model"
    assert [r["authorization"] for r in requests_for(log, "needs-key")] == [None, "Bearer site-secret"]


def test_settings_pick_the_backend_and_the_served_model(chat_server: tuple[str, Path]) -> None:
    url, log = chat_server
    generator = load_generator(Settings(drafting_url=url + "/chat/completions"))
    assert isinstance(generator, OpenAIChatGenerator) and generator.base == url
    d = load("neighbour-wall")
    draft = draft_document(d.transcript, d.casefile, kind="mediation-agreement", template="mediation-agreement",
                           title="人民调解协议书", generator=generator, timeout_s=20)
    # no model named: the first one the server lists (the "good" case) is asked
    assert draft.drafter.model == "good" and draft.drafter.method == "model"
    assert load_generator(Settings()) is None  # the offline default: rules only


def test_consultation_question_is_drafted_from_quotes(chat_server: tuple[str, Path]) -> None:
    url, log = chat_server
    draft = _draft(url, "consult", name="custody-phone", kind="consultation-record")
    assert draft.drafter.method == "model"
    question = draft.fields["question"]
    assert question.source is Source.MODEL and question.value == QUESTION
    assert [e.quote for e in question.evidence] == QUESTION_QUOTES and question.evidence[0].start == 7.16
    # a consultation's schema has no terms
    (sent,) = requests_for(log, "consult")
    assert "terms" not in sent["body"]["response_format"]["json_schema"]["schema"]["properties"]
    # the neighbour answer quotes nothing of this consultation, and has terms the schema forbids
    other = _draft(url, "good", name="custody-phone", kind="consultation-record")
    assert other.drafter.method == "rules" and "terms: Extra inputs are not permitted" in other.drafter.fallback


def test_cli_drafts_through_the_server(chat_server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = chat_server
    d = load("neighbour-wall")
    out = tmp_path / "draft.json"
    env = {**os.environ, "SCRIBE_DRAFTING_URL": url, "SCRIBE_DRAFTING_MODEL": "good", "SCRIBE_DRAFTING_TIMEOUT_S": "20"}
    proc = subprocess.run([sys.executable, "-m", "scribe", "draft", "-t", str(d.transcript_path), "-s",
                           str(d.session_path), "--template", "mediation-agreement", "-o", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["drafter"] == {"method": "model", "model": "good", "backend": "openai-chat",
                               "seconds": data["drafter"]["seconds"]}
    assert data["fields"]["facts"]["source"] == "model"
