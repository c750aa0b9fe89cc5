"""Documents: templates, rendering to .docx (checked with python-docx), law checks, site templates,
the linter and the `scribe draft` command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from pydantic import ValidationError

from doc_templates.lint import lint_template
from doc_templates.registry import BUILTIN_DIR, load_registry, load_spec
from doc_templates.render import render_docx
from doc_templates.schemas import DOCUMENT_MODELS, MediationAgreement
from scribe.casefile import CaseFile
from scribe.errors import DocumentError
from scribe.extract import rule_draft
from tests.dialogues import load

ROOT = Path(__file__).resolve().parent.parent
SCRIBE = [sys.executable, "-c", "from scribe.cli import main; main()"]


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def render(name: str, kind: str, tmp_path: Path, casefile: CaseFile | None = None) -> tuple[str, object]:
    d = load(name)
    draft = rule_draft(d.transcript, casefile or d.casefile, kind=kind)
    out = render_docx(draft, load_registry().get(kind), tmp_path / f"{name}-{kind}.docx")
    return docx_text(out), draft


# -- the three dialogues rendered ------------------------------------------------------------
def test_neighbour_wall_agreement_docx(tmp_path: Path) -> None:
    text, _ = render("neighbour-wall", "mediation-agreement", tmp_path)
    assert "人民调解协议书" in text and "编号：（2026）城人调字第37号" in text
    assert "当事人（甲方/申请人）：张建华，性别：男，民族：汉族，年龄：61岁" in text
    assert "当事人（乙方/被申请人）：李国强" in text and "年龄：58岁" in text
    assert "一、李国强负责在三十日内将拆除的院墙按原位置、原高度重新砌好" in text
    assert "二、李国强欠张建华的借款两万元分三期归还，2026年12月31日前支付八千元" in text
    assert "三、张建华、李国强：双方今后和睦相处" in text  # the obligors are named first (issue 12)
    assert "履行方式：分三期、银行转账" in text
    assert "于2027年02月28日前履行完毕" in text
    assert "第一条“三十日内”：2026年12月20日" in text
    assert "本协议一式3份" in text and "即2026年12月20日前" in text
    # what nobody said is flagged in the document itself
    assert "履行地点：【待补充：履行地点】" in text
    assert "联系方式：【待补充：联系方式】" in text
    assert "人民调解员（签名）：王建国" in text and "城关镇人民调解委员会（印）" in text
    assert "【草稿】" in text


def test_wage_consultation_docx(tmp_path: Path) -> None:
    text, _ = render("wage-arrears", "consultation-record", tmp_path)
    assert "法律咨询记录" in text and "城法咨〔2026〕第0412号" in text
    assert "2026年11月21日 14时10分" in text and "现场来访" in text
    assert "姓名：赵春梅" in text and "性别：女" in text
    assert "一共欠了我三万六千元" in text
    assert "由施工总承包单位先行清偿" in text
    assert "《保障农民工工资支付条例》第三十条；《劳动争议调解仲裁法》第二十七条" in text
    assert "转法律援助" in text and "引导劳动仲裁" not in text  # arbitration only advised, not taken up
    assert "【待补充：满意度】" in text


def test_declined_identity_is_printed(tmp_path: Path) -> None:
    d = load("wage-arrears")
    data = d.casefile.to_dict()
    data["parties"][0] = {"id": "v1", "role": "咨询人", "identity_declined": True}
    text, _ = render("wage-arrears", "consultation-record", tmp_path, CaseFile.from_dict(data))
    assert "咨询人拒绝提供身份信息" in text and "赵春梅" not in text.split("咨询类别")[0]


def test_divorce_agreement_docx_three_parties(tmp_path: Path) -> None:
    text, draft = render("divorce-property", "mediation-agreement", tmp_path)
    for line in ("当事人（甲方/申请人）：陈丽", "当事人（乙方/被申请人）：周伟", "当事人（丙方/第三人）：孙桂兰"):
        assert line in text
    assert "二、陈丽于十五日内向周伟支付房屋折价款十二万元（金额：120000元，期限：" in text
    assert "三、周伟于本月底前向孙桂兰归还借款十万元（金额：100000元，期限：2026年11月30日前）。" in text
    assert "三万五千元" in text and "第三条“本月底”：2026年11月30日" in text
    assert "履行地点：城关镇司法所" in text and "本协议一式4份" in text
    assert "即2026年12月24日前" in text
    assert "人民调解员（签名）：王建国、孙红" in text
    assert text.count("（签名盖章或按指印）") == 3
    assert draft.problems == []


def test_hearing_record_docx(tmp_path: Path) -> None:
    text, draft = render("neighbour-wall", "hearing-record", tmp_path)
    assert "人民调解记录" in text and "时间：2026年11月20日 09时30分" in text
    assert "地点：城关镇司法所调解室" in text and "事由：邻里纠纷" in text
    assert "调解员王建国：今天我们在这里调解张建华和李国强之间的纠纷。" in text
    assert "申请人张建华：我叫张建华，我和李国强是邻居。" in text
    # consecutive segments of one speaker are one turn
    assert "被申请人李国强：我叫李国强，我今年五十八岁。院墙确实是我拆的" in text
    assert "以上记录已向我宣读" in text and "记录人（签名）：" in text
    assert draft.problems == []


def test_hearing_record_keeps_an_unrecognised_stretch_in_place(tmp_path: Path) -> None:
    """Speech no decode recognised is its own turn in the record, marked, with where it is in
    the recording, and flagged for review; the drafting rules never read it as words."""
    from dataclasses import replace

    from scribe.types import UNRECOGNISED_TEXT, TranscriptSegment

    d = load("neighbour-wall")
    segs = list(d.transcript.segments)
    first = segs[1]
    lost = TranscriptSegment(first.end + 0.1, first.end + 7.35, UNRECOGNISED_TEXT, speaker=first.speaker,
                             unrecognised=True)
    transcript = replace(d.transcript, segments=tuple(segs[:2] + [lost] + segs[2:]))
    draft = rule_draft(transcript, d.casefile, kind="hearing-record")
    turns = draft.fields["turns"].items
    flagged = [t for t in turns if UNRECOGNISED_TEXT in t.value["text"]]
    assert len(flagged) == 1
    t = flagged[0]
    assert t.value["start"] == round(lost.start, 3) and t.value["end"] == round(lost.end, 3)
    assert t.note and "未能识别" in t.note and t.confidence == 0.0
    assert t.evidence and t.evidence[0].start == round(lost.start, 3)
    # its own turn: the speaker's recognised words before it are not merged with it
    assert t.value["text"].startswith(UNRECOGNISED_TEXT)
    out = render_docx(draft, load_registry().get("hearing-record"), tmp_path / "r.docx")
    assert f"{UNRECOGNISED_TEXT}（录音" in docx_text(out)
    # the agreement's rules see the same words as without it
    with_gap = rule_draft(transcript, d.casefile, kind="mediation-agreement")
    without = rule_draft(d.transcript, d.casefile, kind="mediation-agreement")
    assert {k: v.value for k, v in with_gap.fields.items()} == {k: v.value for k, v in without.fields.items()}


# -- values are data, never template code ---------------------------------------------------
def test_values_render_literally(tmp_path: Path) -> None:
    d = load("divorce-property")
    data = d.casefile.to_dict()
    data["parties"][0]["name"] = "{{ 7*7 }}"
    data["parties"][1]["address"] = "{% for x in range(3) %}X{% endfor %}"
    data["parties"][2]["occupation"] = "</w:t></w:r></w:p><w:p><w:r><w:t>注入"
    data["organisation"] = "张&李<调解>委员会"
    cf = CaseFile.from_dict(data)
    text, _ = render("divorce-property", "mediation-agreement", tmp_path, cf)
    assert "当事人（甲方/申请人）：{{ 7*7 }}，" in text and "49" not in text
    assert "单位或住址：{% for x in range(3) %}X{% endfor %}" in text and "XXX" not in text
    assert "职业或职务：</w:t></w:r></w:p><w:p><w:r><w:t>注入，" in text
    assert "张&李<调解>委员会（印）" in text


# -- typography -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mediation-agreement", "consultation-record", "hearing-record"])
def test_templates_are_a4_with_named_east_asian_fonts(name: str) -> None:
    doc = Document(str(BUILTIN_DIR / name / "template.docx"))
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    fonts = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "仿宋"
    title = doc.styles["Title"].element.rPr.find(qn("w:rFonts"))
    assert title.get(qn("w:eastAsia")) == "方正小标宋简体" and title.get(qn("w:eastAsiaTheme")) is None
    font_table = next(r.target_part.blob for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    assert "仿宋".encode() in font_table and b"Noto Serif CJK SC" in font_table
    assert doc.styles["Normal"].font.size.pt == 16


# -- law as validation -----------------------------------------------------------------------
def _valid_agreement() -> dict:
    d = load("divorce-property")
    return rule_draft(d.transcript, d.casefile, kind="mediation-agreement").values()


def test_agreement_schema_accepts_a_complete_draft() -> None:
    MediationAgreement.model_validate({k: v for k, v in _valid_agreement().items() if v is not None})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"copies": 3}, "one copy per party plus one"),
        ({"judicial_confirmation_deadline": "2026-12-20"}, "date + 30 days"),
        ({"terms": []}, "at least 1"),
        ({"case_number": "37号"}, "人调字第"),
        ({"performance_deadline": "2026-01-01"}, "before the agreement date"),
    ],
)
def test_agreement_schema_enforces_the_law(change: dict, message: str) -> None:
    values = {k: v for k, v in _valid_agreement().items() if v is not None}
    values.update(change)
    with pytest.raises(ValidationError, match=re.escape(message)):
        MediationAgreement.model_validate(values)


def test_published_json_schemas_are_current() -> None:
    reg = load_registry()
    for name in DOCUMENT_MODELS:
        published = json.loads((ROOT / "docs" / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
        assert published == reg.get(name).json_schema(), "run python -m doc_templates.publish_schemas"
    session = json.loads((ROOT / "docs" / "schemas" / "session.json").read_text(encoding="utf-8"))
    assert session == CaseFile.model_json_schema()


# -- linter and site templates -----------------------------------------------------------------
def test_builtin_templates_lint_clean() -> None:
    reg = load_registry()
    for name in reg.names():
        report = lint_template(reg.get(name))
        assert report.errors == [], (name, report.errors)


def _site_template(folder: Path, base: str, extra_paragraph: str, schema: dict) -> Path:
    folder.mkdir(parents=True)
    doc = Document(str(BUILTIN_DIR / base / "template.docx"))
    for line in extra_paragraph.split("\n"):  # one paragraph per line, as a site would type them
        doc.add_paragraph(line)
    doc.save(str(folder / "template.docx"))
    (folder / "template.json").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    return folder


def test_site_templates_override_and_extend_without_code(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _site_template(site / "mediation-agreement", "mediation-agreement", "本所监督电话：0731-12348",
                   {"document": "mediation-agreement", "title": "人民调解协议书（本所格式）"})
    _site_template(site / "family-agreement", "mediation-agreement", "调解室：{{ mediation_room }}",
                   {"document": "mediation-agreement", "title": "家事调解协议书",
                    "extra_fields": {"mediation_room": {"title": "调解室", "required": True}}})
    reg = load_registry(site)
    assert not reg.get("mediation-agreement").builtin
    assert reg.get("hearing-record").builtin
    assert "mediation_room" in reg.get("family-agreement").json_schema()["required"]
    for name in ("mediation-agreement", "family-agreement"):
        assert lint_template(reg.get(name)).errors == []
    d = load("divorce-property")
    draft = rule_draft(d.transcript, d.casefile, kind="mediation-agreement", template="family-agreement")
    out = render_docx(draft, reg.get("family-agreement"), tmp_path / "f.docx", custom={"mediation_room": "第二调解室"})
    assert "调解室：第二调解室" in docx_text(out)
    out = render_docx(draft, reg.get("family-agreement"), tmp_path / "g.docx")
    assert "调解室：【待补充：mediation_room】" in docx_text(out)
    out = render_docx(draft, reg.get("mediation-agreement"), tmp_path / "h.docx")
    assert "本所监督电话：0731-12348" in docx_text(out)


@pytest.mark.parametrize(
    ("paragraph", "error"),
    [
        ("{{ mediation_room }}", "undeclared field 'mediation_room'"),
        ("{% if facts %}没有结束", "syntax error"),
        ("{{ facts|shout }}", "unknown filter 'shout'"),
        ("{%p for p in parties %}\n{{ p.nickname }}\n{%p endfor %}", "p.nickname"),
    ],
)
def test_linter_catches_broken_templates(tmp_path: Path, paragraph: str, error: str) -> None:
    folder = _site_template(tmp_path / "bad", "mediation-agreement", paragraph,
                            {"document": "mediation-agreement", "title": "坏模板"})
    report = lint_template(load_spec(folder, builtin=False))
    assert not report.ok and any(error in e for e in report.errors), report.errors


def test_bad_template_folder_says_what_to_fix(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "template.docx").write_bytes(b"")
    with pytest.raises(DocumentError, match="template.json"):
        load_spec(tmp_path / "x", builtin=False)


# -- the command --------------------------------------------------------------------------------
def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([*SCRIBE, *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env}, timeout=300, check=False)


def test_cli_draft_writes_traceable_json_and_docx(tmp_path: Path) -> None:
    d = load("neighbour-wall")
    proc = _run(["draft", "--transcript", str(d.transcript_path), "--session", str(d.session_path),
                 "--template", "mediation-agreement", "-o", str(tmp_path / "draft.json"),
                 "--docx", str(tmp_path / "a.docx")])
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "draft.json").read_text(encoding="utf-8"))
    assert data["format"] == "mediation-scribe/draft" and data["template"] == "mediation-agreement"
    for name, field in data["fields"].items():
        assert field["source"] in ("session", "transcript", "model", "missing"), name
        assert 0 <= field["confidence"] <= 1
        check_provenance(name, field, d.transcript)
    assert "performance_place" in data["missing"] and "missing: " in proc.stderr
    assert "李国强" in docx_text(tmp_path / "a.docx")


def check_provenance(name: str, field: dict, transcript) -> None:
    """Every transcript-sourced leaf quotes its segment exactly; missing leaves have no value."""
    children = field.get("items") or list((field.get("parts") or {}).values())
    if children:
        for i, child in enumerate(children):
            check_provenance(f"{name}.{i}", child, transcript)
        return
    if field["source"] == "transcript":
        assert field["evidence"], name
        for ev in field["evidence"]:
            seg = transcript.segments[ev["segment"]]
            assert ev["quote"] in seg.text and ev["start"] == seg.start and ev["speaker"] == seg.speaker, name
    if field["source"] == "missing":
        assert field.get("value") in (None, []) and field["confidence"] == 0, name


def test_cli_bad_session_is_one_line_with_the_fix(tmp_path: Path) -> None:
    d = load("neighbour-wall")
    bad = tmp_path / "S.json"
    bad.write_text(json.dumps({"session_type": "mediation", "date": "2026-13-01",
                               "speakers": {"SPEAKER_00": "nobody"}}), encoding="utf-8")
    proc = _run(["draft", "-t", str(d.transcript_path), "-s", str(bad), "--template", "hearing-record",
                 "-o", str(tmp_path / "x.json")])
    assert proc.returncode == DocumentError.exit_code
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "date" in proc.stderr and "docs/session-format.md" in proc.stderr
    proc = _run(["draft", "-t", str(d.transcript_path), "-s", str(d.session_path), "--template", "nope",
                 "-o", str(tmp_path / "x.json")])
    assert proc.returncode == DocumentError.exit_code and "mediation-agreement" in proc.stderr


def test_cli_templates_lint_and_list(tmp_path: Path) -> None:
    proc = _run(["templates", "lint"])
    assert proc.returncode == 0 and "mediation-agreement: ok" in proc.stdout
    bad = _site_template(tmp_path / "site" / "bad", "hearing-record", "{{ unknown_field }}",
                         {"document": "hearing-record", "title": "坏"})
    proc = _run(["templates", "lint", str(bad)])
    assert proc.returncode == DocumentError.exit_code and "unknown_field" in proc.stdout
    proc = _run(["templates", "list"], SCRIBE_TEMPLATE_DIR=str(tmp_path / "site"))
    assert "bad\t坏\thearing-record\t" in proc.stdout


def test_pdf_without_libreoffice_says_how_to_get_it(tmp_path: Path) -> None:
    from doc_templates.render import docx_to_pdf

    d = load("neighbour-wall")
    draft = rule_draft(d.transcript, d.casefile, kind="hearing-record")
    spec = load_registry().get("hearing-record")
    docx = render_docx(draft, spec, tmp_path / "r.docx")
    import os

    saved = os.environ["PATH"]
    os.environ["PATH"] = str(tmp_path)  # no soffice here
    try:
        with pytest.raises(DocumentError, match="libreoffice-writer-nogui"):
            docx_to_pdf(docx, tmp_path / "r.pdf", spec)
    finally:
        os.environ["PATH"] = saved


# -- PDF through LibreOffice ---------------------------------------------------------------------
@pytest.mark.parametrize(("name", "kind", "expect"), [
    ("neighbour-wall", "mediation-agreement", ["人民调解协议书", "张建华", "2027年02月28日", "【待补充：履行地点】"]),
    ("wage-arrears", "consultation-record", ["法律咨询记录", "赵春梅", "转法律援助"]),
])
def test_pdf_has_chinese_text_in_an_embedded_cjk_font(tmp_path: Path, name: str, kind: str,
                                                      expect: list[str]) -> None:
    from doc_templates.render import docx_to_pdf

    d = load(name)
    spec = load_registry().get(kind)
    docx = render_docx(rule_draft(d.transcript, d.casefile, kind=kind), spec, tmp_path / f"{name}.docx")
    pdf = docx_to_pdf(docx, tmp_path / f"{name}.pdf", spec)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", "", text)
    for snippet in expect:
        assert snippet in flat, snippet
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "NotoSerifCJK" in fonts  # the named fallback of 仿宋, embedded
    assert "NotoSansCJK" not in fonts  # no silent fallback to another face
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    from PIL import Image

    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    assert page.size[0] < page.size[1]  # portrait A4
    dark = sum(1 for v in page.getdata() if v < 128)
    assert dark > 2000  # ink on the page: text was drawn, not blank boxes only


def test_reviewed_draft_renders_again_with_the_fix(tmp_path: Path) -> None:
    """A reviewer fills what was missing in draft.json; `scribe templates render` prints it."""
    d = load("neighbour-wall")
    draft_path = tmp_path / "draft.json"
    assert _run(["draft", "-t", str(d.transcript_path), "-s", str(d.session_path), "--template",
                 "mediation-agreement", "-o", str(draft_path)]).returncode == 0
    data = json.loads(draft_path.read_text(encoding="utf-8"))
    data["fields"]["performance_place"] = {"value": "城关镇司法所", "source": "session", "confidence": 1.0,
                                           "evidence": [], "note": "filled in by the reviewer"}
    data["fields"]["parties"]["items"][1]["parts"]["phone"] = {"value": "13907310002", "source": "session",
                                                                "confidence": 1.0, "evidence": []}
    draft_path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    proc = _run(["templates", "render", str(draft_path), "--docx", str(tmp_path / "r.docx"),
                 "--pdf", str(tmp_path / "r.pdf")])
    assert proc.returncode == 0, proc.stderr
    text = docx_text(tmp_path / "r.docx")
    assert "履行地点：城关镇司法所" in text and "联系方式：13907310002" in text
    assert "【待补充：履行地点】" not in text and "【待补充：职业】" in text
    pdf_text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
    assert "城关镇司法所" in re.sub(r"\s+", "", pdf_text)
