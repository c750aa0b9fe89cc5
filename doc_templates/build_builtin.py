"""Writes the built-in Word templates (``python -m doc_templates.build_builtin``).

The .docx files are committed; this script is how they were made, so a change to the layout
is reviewable as code. Sites restyle the files in Word (or replace them, see registry.py);
they never need this script.

House style (GB/T 9704): A4, margins 37/35/28/26 mm, title 2号 (22 pt) 小标宋, body 3号 (16 pt)
仿宋 at a fixed 28.95 pt line pitch (22 lines a page). East Asian fonts are named explicitly on
every style (``w:eastAsia``) so Chinese never falls back to a Latin font; the font table names
Noto Serif CJK SC (Debian fonts-noto-cjk) as the alternative where 仿宋 is not installed.
"""

from __future__ import annotations

import json
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph

from doc_templates.registry import BUILTIN_DIR, SCHEMA_FILE, TEMPLATE_FILE, FontSpec

FONTS = FontSpec()
LATIN_FONT = "Times New Roman"
BODY_PT = 16  # 3号
TITLE_PT = 22  # 2号
SMALL_PT = 12  # 小4号, for the draft notice
LINE_PITCH_PT = 28.95


def _set_fonts(rpr_owner, east_asian: str) -> None:  # type: ignore[no-untyped-def]
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    # theme font attributes win over named fonts in Word: drop them so the names below apply
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:cs"), LATIN_FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _font_table_alternatives(doc) -> None:  # type: ignore[no-untyped-def]
    """Name the open fallback in the font table (w:altName), where Word and LibreOffice look."""
    part = None
    for rel in doc.part.rels.values():
        if rel.reltype.endswith("/fontTable"):
            part = rel.target_part
    if part is None:
        return
    from lxml import etree

    root = etree.fromstring(part.blob)
    for name in (FONTS.body, FONTS.title):
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        alt = etree.SubElement(font, qn("w:altName"))
        alt.set(qn("w:val"), FONTS.fallback)
        charset = etree.SubElement(font, qn("w:charset"))
        charset.set(qn("w:val"), "86")  # GB2312
        family = etree.SubElement(font, qn("w:family"))
        family.set(qn("w:val"), "roman")
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def new_document():  # type: ignore[no-untyped-def]
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    normal.font.name = LATIN_FONT
    _set_fonts(normal.element, FONTS.body)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(LINE_PITCH_PT)
    pf.space_before = pf.space_after = Pt(0)
    title = doc.styles["Title"]
    title.font.size = Pt(TITLE_PT)
    title.font.bold = False
    title.font.color.rgb = None
    _set_fonts(title.element, FONTS.title)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)
    # The Title style of python-docx's default template draws a border; an official form has none.
    ppr = title.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)
    _font_table_alternatives(doc)
    return doc


def para(doc, text: str = "", *, label: str | None = None, align: str | None = None,  # type: ignore[no-untyped-def]
         indent: bool = False, size: int | None = None) -> Paragraph:
    p = doc.add_paragraph()
    if label:
        run = p.add_run(label)
        run.bold = True
    if text:
        run = p.add_run(text)  # a tag never spans runs: docxtpl needs it whole
        if size:
            run.font.size = Pt(size)
    if align == "center":
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif align == "right":
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    elif align == "justify":
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if indent:
        p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    return p


def title(doc, text: str) -> None:  # type: ignore[no-untyped-def]
    doc.add_paragraph(text, style="Title")


DRAFT_NOTICE = "{{ draft_notice }}"


def mediation_agreement() -> object:
    doc = new_document()
    para(doc, DRAFT_NOTICE, size=SMALL_PT)
    title(doc, "人民调解协议书")
    para(doc, "编号：{{ case_number }}", align="right")
    para(doc, "{%p for p in parties %}")
    para(doc, "当事人（{{ p.side }}/{{ p.role }}）：{{ p.name }}，性别：{{ p.gender }}，民族：{{ p.ethnicity }}，"
              "年龄：{{ p.age }}岁，职业或职务：{{ p.occupation }}，联系方式：{{ p.phone }}，"
              "单位或住址：{{ p.address }}")
    para(doc, "{%p endfor %}")
    para(doc, label="纠纷主要事实、争议事项：")
    para(doc, "{{ facts }}", indent=True, align="justify")
    para(doc, "{%p if responsibility %}")
    para(doc, "{{ responsibility }}", label="各方责任：", align="justify")
    para(doc, "{%p endif %}")
    para(doc, label="经调解，自愿达成如下协议：")
    para(doc, "{%p for term in terms %}")
    para(doc, "{{ loop.index|cn_numeral }}、{{ term }}", indent=True, align="justify")
    para(doc, "{%p endfor %}")
    para(doc, label="履行方式、时限：")
    para(doc, "履行方式：{{ performance_manner }}；履行地点：{{ performance_place }}；"
              "于{{ performance_deadline|cn_date }}前履行完毕。", indent=True, align="justify")
    para(doc, "{%p for d in deadlines %}")
    para(doc, "{{ d }}", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "本协议一式{{ copies }}份，当事人、人民调解委员会各持一份。", indent=True)
    para(doc, "本协议自各方当事人签名、盖章或者按指印，人民调解员签名并加盖人民调解委员会印章之日起生效。"
              "当事人可以自本协议生效之日起三十日内（即{{ judicial_confirmation_deadline|cn_date }}前）"
              "共同向人民法院申请司法确认。", indent=True, align="justify")
    para(doc)
    para(doc, "{%p for p in parties %}")
    para(doc, "当事人（{{ p.side }}）{{ p.name }}（签名盖章或按指印）：")
    para(doc, "{%p endfor %}")
    para(doc, "人民调解员（签名）：{{ mediators|join('、') }}", align="right")
    para(doc, "记录人（签名）：{{ recorder }}", align="right")
    para(doc, "{{ organisation }}（印）", align="right")
    para(doc, "{{ date|cn_date }}", align="right")
    return doc


def consultation_record() -> object:
    doc = new_document()
    para(doc, DRAFT_NOTICE, size=SMALL_PT)
    title(doc, "法律咨询记录")
    para(doc, "{{ organisation }}", align="center")
    para(doc, "编号：{{ case_number }}", align="right")
    rows = [
        ("咨询时间", "{{ time|cn_date }}"),
        ("咨询方式", "{{ channel }}"),
        ("咨询人", ("{% if visitor.identity_declined %}咨询人拒绝提供身份信息{% else %}姓名：{{ visitor.name }}"
                 "  性别：{{ visitor.gender }}  年龄：{{ visitor.age }}  民族：{{ visitor.ethnicity }}{% endif %}")),
        ("职业/单位", ("{% if visitor.identity_declined %}（未提供）{% else %}{{ visitor.occupation }}"
                   "  {{ visitor.employer }}{% endif %}")),
        ("住址/电话", ("{% if visitor.identity_declined %}（未提供）{% else %}{{ visitor.address }}"
                   "  {{ visitor.phone }}{% endif %}")),
        ("咨询类别", "{{ category }}"),
        ("咨询事项", "{{ question }}"),
        ("解答意见", "{{ answer }}"),
        ("法律依据", "{{ legal_bases|join('；') }}"),
        ("处理结果", "{{ outcome|join('、') }}"),
        ("接待人（解答人）", "{{ staff }}        （签名）"),
        ("满意度", "{{ satisfaction }}（1 非常满意  2 满意  3 基本满意  4 不满意）"),
        ("回访", "{{ follow_up }}"),
    ]
    table = doc.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = (Mm(36), Mm(120))  # 156 mm: the type area between the GB/T 9704 margins
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # w:gridCol, which LibreOffice follows
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.cells[0].width, row.cells[1].width = widths
        row.cells[0].paragraphs[0].add_run(label).bold = True
        row.cells[1].paragraphs[0].add_run(value)
    para(doc)
    para(doc, "咨询人（签名）：", align="right")
    return doc


def hearing_record() -> object:
    doc = new_document()
    para(doc, DRAFT_NOTICE, size=SMALL_PT)
    title(doc, "人民调解记录")
    para(doc, "编号：{{ case_number }}", align="right")
    para(doc, "{{ time|cn_date }}", label="时间：")
    para(doc, "{{ place }}", label="地点：")
    para(doc, "{{ matter }}", label="事由：")
    para(doc, "{{ mediators|join('、') }}", label="人民调解员：")
    para(doc, "{{ recorder }}", label="记录人：")
    para(doc, label="当事人：")
    para(doc, "{%p for p in parties %}")
    para(doc, "{{ p }}", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "{{ others|join('；') or '无' }}", label="其他参加人：")
    para(doc, label="记录如下：")
    para(doc, "{%p for t in turns %}")
    para(doc, "{{ t.speaker }}：{{ t.text }}", indent=True, align="justify")
    para(doc, "{%p endfor %}")
    para(doc, "{{ result.outcome }}", label="调解结果：")
    para(doc, "{%p if result.outcome in ('调解不成', '调解终止', '部分达成') %}")
    para(doc, "{{ result.reason }}", label="原因：", indent=True)
    para(doc, "{{ result.remedies }}", label="告知诉讼、仲裁途径：", indent=True)
    para(doc, "{%p endif %}")
    para(doc, "{%p if result.outcome in ('口头协议', '部分达成') %}")
    para(doc, label="达成的协议内容：")
    para(doc, "{%p for t in result.terms %}")
    para(doc, "{{ loop.index }}. {{ t }}", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "{%p endif %}")
    para(doc, "{{ read_back }}", indent=True)
    para(doc)
    para(doc, "{%p for p in parties %}")
    para(doc, "当事人{{ p.split('，')[0] }}（签名或按指印）：")
    para(doc, "{%p endfor %}")
    para(doc, "人民调解员（签名）：", align="right")
    para(doc, "记录人（签名）：", align="right")
    para(doc, "{{ organisation }}", align="right")
    return doc


BUILTINS = {
    "mediation-agreement": (mediation_agreement, "人民调解协议书",
                            "MoJ layout of the 人民调解协议书 (人民调解法 第二十九条)"),
    "consultation-record": (consultation_record, "法律咨询记录",
                            "Composite 法律咨询记录/登记表 of public legal service centres"),
    "hearing-record": (hearing_record, "人民调解记录",
                       "The hearing transcript with roles and names, read-back statement and signatures"),
}


def build(target: Path = BUILTIN_DIR) -> list[Path]:
    written = []
    for name, (make, title_text, description) in BUILTINS.items():
        folder = target / name
        folder.mkdir(parents=True, exist_ok=True)
        doc = make()
        doc.core_properties.title = title_text
        doc.core_properties.author = "mediation-scribe"
        doc.save(folder / TEMPLATE_FILE)  # type: ignore[attr-defined]
        schema = {"document": name, "title": title_text, "description": description,
                  "extra_fields": {}, "fonts": FONTS.model_dump()}
        (folder / SCHEMA_FILE).write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(folder)
    return written


if __name__ == "__main__":
    for folder in build():
        print(folder)
