"""The optional drafting model: real transformers loading and generation with a tiny model the
test builds (random weights, character tokenizer, chat template), and the acceptance rules
(valid JSON of the schema, supported by the transcript, in time) with scripted answers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from scribe.drafting import ModelDraft, answer_schema, draft_document, load_generator
from scribe.drafting.generator import Generation, TransformersGenerator
from scribe.extract.fields import Source
from scribe.settings import Settings
from scribe.types import Transcript
from tests.dialogues import DIALOGUE_DIR, NAMES, load

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_model(folder: Path) -> Path:
    """A 2-layer Qwen2-architecture causal LM with random weights and a character tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    chars = set('{}[]":,.0123456789abcdefghijklmnopqrstuvwxyz ')
    for name in NAMES:
        chars |= set((DIALOGUE_DIR / f"{name}.transcript.json").read_text(encoding="utf-8"))
    specials = ["<unk>", "<pad>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
    vocab = {tok: i for i, tok in enumerate(specials + sorted(chars - {"\n"}) + ["\n"])}
    raw = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", pad_token="<pad>",
                                        eos_token="<|end|>", additional_special_tokens=specials[3:])
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=8192,
                         pad_token_id=vocab["<pad>"], eos_token_id=vocab["<|end|>"])
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_lock(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A models.lock naming the tiny model as a site-local drafting model, verified by sha256."""
    root = tmp_path_factory.mktemp("drafting")
    model_dir = build_tiny_model(root / "tiny-drafter")
    files = "\n".join(
        f'  {{ path = "{p.name}", sha256 = "{hashlib.sha256(p.read_bytes()).hexdigest()}" }},'
        for p in sorted(model_dir.iterdir()) if p.is_file()
    )
    lock = root / "models.lock"
    lock.write_text(
        f'version = 1\n\n[[model]]\nname = "tiny-drafter"\nrole = "drafting"\nformat = "transformers"\n'
        f'licence = "test"\ndirectory = "{model_dir}"\nfiles = [\n{files}\n]\n', encoding="utf-8")
    return Settings(lock_file=lock, model_dir=root / "store", drafting_model="tiny-drafter", cpu_threads=1)


def test_tiny_transformers_model_loads_generates_and_falls_back(tiny_lock: Settings) -> None:
    generator = load_generator(tiny_lock)
    assert isinstance(generator, TransformersGenerator)
    out = generator.generate([{"role": "user", "content": "院墙"}], max_new_tokens=12, timeout_s=60)
    assert out.new_tokens == 12 and isinstance(out.text, str) and not out.hit_time_limit
    d = load("neighbour-wall")
    draft = draft_document(d.transcript, d.casefile, kind="mediation-agreement", template="mediation-agreement",
                           title="人民调解协议书", generator=generator, max_new_tokens=24, timeout_s=60)
    # random weights never produce the schema's JSON: the rule-based draft stands, with a warning
    assert draft.drafter.method == "rules" and draft.drafter.model == "tiny-drafter"
    assert any("tiny-drafter" in w and "kept the rule-based draft" in w for w in draft.warnings)
    assert draft.fields["facts"].source is Source.TRANSCRIPT


def test_a_changed_model_file_is_refused(tiny_lock: Settings, tmp_path: Path) -> None:
    import re

    from scribe.errors import ModelError

    text = tiny_lock.lock_file.read_text(encoding="utf-8")
    lock = tmp_path / "models.lock"
    lock.write_text(re.sub(r'sha256 = "[0-9a-f]{64}"', 'sha256 = "' + "0" * 64 + '"', text, count=1),
                    encoding="utf-8")
    with pytest.raises(ModelError, match="sha256|changed|corrupt|verif"):
        load_generator(Settings(lock_file=lock, model_dir=tmp_path, drafting_model="tiny-drafter"))


def test_a_gguf_drafting_model_is_pointed_at_a_llama_cpp_server(tmp_path: Path) -> None:
    from scribe.errors import ModelError
    from scribe.models import load_lock
    from scribe.settings import project_root

    entry = load_lock(project_root() / "models.lock").get("gemma-3-270m-q4")
    assert entry.optional and entry.format == "gguf" and entry.role == "drafting"
    with pytest.raises(ModelError) as err:
        load_generator(Settings(model_dir=tmp_path, drafting_model="gemma-3-270m-q4"))
    msg = str(err.value)
    assert "GGUF" in msg and "python -m llama_cpp.server --model" in msg and "SCRIBE_DRAFTING_URL" in msg
    assert str(tmp_path / "gemma-3-270m-q4" / "gemma-3-270m-q4_k_m.gguf") in msg


@dataclass
class Scripted:
    """Stands in for a capable model in process: answers with fixed text (the acceptance rules
    are what is tested; the same rules over real HTTP: tests/test_drafting_openai.py)."""

    text: str
    seconds: float = 1.0
    name: str = "scripted"
    backend: str = "transformers"

    def generate(self, messages, *, max_new_tokens: int, timeout_s: float, json_schema=None) -> Generation:  # type: ignore[no-untyped-def]
        assert "JSON" in messages[0]["content"] and "调解员王建国" in messages[1]["content"]
        assert json_schema == answer_schema("mediation-agreement")
        return Generation(self.text, self.seconds, 100, self.seconds >= timeout_s)


GOOD_FACTS = ("被申请人李国强今年八月翻盖房子时推倒了两家中间的院墙，至今没有砌回；"
              "前年李国强向申请人张建华借款两万元，到期未还。双方争议院墙重建费用和借款归还。")
GOOD_QUOTES = ["今年八月份他家翻盖房子，把我们两家中间的院墙推倒了", "前年他向我借了两万元",
               "一是被拆除院墙的重建和费用，二是两万元借款的归还"]


def _facts(text: str = GOOD_FACTS, quotes: list[str] | None = None) -> dict:
    return {"text": text, "quotes": GOOD_QUOTES if quotes is None else quotes}


def _json(**body: object) -> str:
    return json.dumps(body, ensure_ascii=False)


def _draft(answer: Scripted, name: str = "neighbour-wall", timeout_s: float = 30):  # type: ignore[no-untyped-def]
    d = load(name)
    return draft_document(d.transcript, d.casefile, kind="mediation-agreement", template="mediation-agreement",
                          title="人民调解协议书", generator=answer, timeout_s=timeout_s)


def test_supported_model_output_is_used_with_evidence() -> None:
    d = load("neighbour-wall")
    terms = [{"text": t, "quotes": [t]} for t in d.expected["terms"]]
    draft = _draft(Scripted("```json\n" + _json(facts=_facts(), terms=terms) + "\n```"))
    assert draft.drafter.method == "model" and draft.drafter.backend == "transformers"
    facts = draft.fields["facts"]
    assert facts.source is Source.MODEL and facts.value == GOOD_FACTS
    assert [e.quote for e in facts.evidence] == GOOD_QUOTES
    assert [e.role for e in facts.evidence] == ["申请人", "申请人", "调解员"]
    assert draft.fields["terms"].source is Source.MODEL and draft.fields["terms"].value == d.expected["terms"]
    assert draft.fields["terms"].items[0].evidence[0].role == "调解员"


TERM_QUOTE = ["借款我认，能不能分几次还"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Scripted("好的，以下是协议书。"), "not JSON"),
        (Scripted('{"facts": "太短"}'), "schema (facts: Input should be an object)"),
        (Scripted(_json(facts=_facts("太短"))), "schema (facts.text: String should have at least 10 characters)"),
        (Scripted(_json(facts=_facts(quotes=[]))), "schema (facts.quotes: List should have at least 1 item"),
        (Scripted(_json(facts=_facts(), extra=1)), "schema (extra: Extra inputs are not permitted)"),
        (Scripted(_json(facts=_facts(GOOD_FACTS.replace("两万元", "五万元")))),
         "an amount its quotes do not (五万元)"),
        (Scripted(_json(facts=_facts(GOOD_FACTS + "李国强应于2026年12月1日前付清。"))),
         "a date its quotes do not (2026年12月1日前)"),
        (Scripted(_json(facts=_facts("李国强拆了院墙以后又打伤了张建华，张建华住院花了很多钱，要求赔偿医药费和误工费。",
                                     ["院墙确实是我拆的"]))), "not supported by the transcript"),
        (Scripted(_json(facts=_facts("甲方驾驶货车撞坏了乙方的店铺门面，乙方要求赔偿并公开道歉，甲方拒绝。",
                                     ["院墙确实是我拆的"]))), "says nothing of it"),
        (Scripted(_json(facts=_facts(GOOD_FACTS, ["李国强把墙拆了"]))), "is not in the transcript"),
        (Scripted(_json(facts=_facts(), seconds=45)), "schema"),
        (Scripted(_json(facts=_facts()), seconds=45), "no complete answer within 30 s"),
    ],
)
def test_unusable_model_output_falls_back_with_a_warning(answer: Scripted, reason: str) -> None:
    draft = _draft(answer)
    assert draft.drafter.method == "rules" and draft.drafter.fallback
    assert any(reason in w for w in draft.warnings), draft.warnings
    assert draft.fields["facts"].source is Source.TRANSCRIPT
    assert draft.fields["terms"].source is Source.TRANSCRIPT


def test_a_term_not_worded_as_said_is_dropped() -> None:
    d = load("neighbour-wall")
    terms = [{"text": t, "quotes": [t]} for t in d.expected["terms"]]
    terms[1] = {"text": "张建华放弃全部借款，李国强的借款一笔勾销，双方互不追究。", "quotes": TERM_QUOTE}
    draft = _draft(Scripted(_json(facts=_facts(), terms=terms)))
    assert draft.drafter.method == "model" and draft.fields["facts"].source is Source.MODEL
    assert draft.fields["terms"].source is Source.TRANSCRIPT
    assert any("dropped 1 of its 3 terms" in w and "wording is not what was said" in w for w in draft.warnings)


def test_model_terms_are_refused_where_the_rules_found_no_agreement() -> None:
    d = load("neighbour-wall")
    # the same hearing without the mediator's dictation: no agreed terms for the rules
    segs = tuple(s for s in d.transcript.segments if "协议" not in s.text and not s.text.startswith("第"))
    transcript = Transcript(d.transcript.language, d.transcript.duration, d.transcript.model, segs)
    answer = Scripted(_json(facts=_facts(), terms=[{"text": "李国强向张建华归还借款两万元。", "quotes": ["钱是借了两万"]}]))
    draft = draft_document(transcript, d.casefile, kind="mediation-agreement", template="mediation-agreement",
                           title="人民调解协议书", generator=answer, timeout_s=30)
    assert draft.fields["terms"].source is Source.MISSING
    assert any("dropped its 1 terms: the rules found no agreed terms" in w for w in draft.warnings)


def test_model_draft_schema_is_strict() -> None:
    schema = ModelDraft.model_json_schema()
    assert schema["additionalProperties"] is False and schema["required"] == ["facts"]
    for part in ("CitedFacts", "CitedTerm"):
        assert schema["$defs"][part]["required"] == ["text", "quotes"]
        assert schema["$defs"][part]["additionalProperties"] is False
    assert "terms" not in answer_schema("consultation-record")["properties"]


def test_a_crashing_model_falls_back() -> None:
    class Crashing(Scripted):
        def generate(self, messages, *, max_new_tokens: int, timeout_s: float, json_schema=None) -> Generation:  # type: ignore[no-untyped-def]
            raise RuntimeError("CUDA out of memory")

    draft = _draft(Crashing(""))
    assert draft.drafter.method == "rules"
    assert any("generation failed (RuntimeError: CUDA out of memory)" in w for w in draft.warnings)


def test_quotes_are_found_whatever_the_punctuation_but_never_with_other_words() -> None:
    from benchmarks.extraction import unpunctuated
    from scribe.drafting.evidence import QuoteIndex
    from scribe.extract import Dialogue

    d = load("neighbour-wall")
    # recogniser-style text: digits, Traditional characters, spaces instead of punctuation
    dialogue = Dialogue.build(unpunctuated(d.transcript), d.casefile)
    index = QuoteIndex(dialogue)
    # the model punctuates (and writes full-width digits) where the recogniser wrote spaces
    ev = index.locate("李国强欠张建华的借款20000元，分3期归还，２０２６年12月31日前支付8000元。")
    assert ev is not None and ev.role == "调解员" and ev.segment == 19
    # the evidence is the transcript's own words, verbatim as the recogniser wrote them (here in
    # Traditional characters), as every quote of a draft
    transcript = unpunctuated(d.transcript)
    assert ev.quote == "李國強欠張建華的借款20000元分3期歸還 2026年12月31日前支付8000元"
    assert ev.quote in transcript.segments[19].text
    assert index.locate("李国强欠张建华的借款两万元，分三期归还") is None  # numerals as the model would like them
    assert index.locate("李国强欠张建华的借款30000元分3期归还") is None  # one character changed
    assert index.locate("，。 ") is None
