"""Filling a template with a draft: .docx always, PDF through LibreOffice when installed.

Field values are data, never template code. docxtpl renders the template's Jinja once; values
are inserted by that rendering and are not parsed again, so a party's words such as
``{{ 7*7 }}`` or ``{% for %}`` print as typed. Autoescaping turns ``&``, ``<w:p>`` and other
markup characters into XML text, so a value can never add elements to the document.

A missing value renders as a visible 【待补充：…】 placeholder (falsy for ``{% if %}``), so a
reviewer sees the gap in the document itself and not only in ``draft.json``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import cn2an
import jinja2
from docxtpl import DocxTemplate

from doc_templates.registry import TemplateSpec
from doc_templates.schemas import READ_BACK
from scribe.errors import DocumentError
from scribe.extract.draft import Draft
from scribe.extract.fields import FieldValue

DRAFT_NOTICE = "【草稿】本文书由录音自动生成，须经工作人员审核、当事人核对签字后方为有效。"

FIELD_TITLES = {
    "organisation": "组织名称", "case_number": "编号", "date": "日期", "parties": "当事人",
    "dispute_category": "纠纷类型", "facts": "纠纷事实", "responsibility": "各方责任", "terms": "协议条款",
    "performance_manner": "履行方式", "performance_place": "履行地点", "performance_deadline": "履行期限",
    "deadlines": "履行时限", "copies": "份数", "judicial_confirmation_deadline": "司法确认期限",
    "mediators": "人民调解员", "recorder": "记录人", "legal_bases": "法律依据", "time": "时间",
    "channel": "咨询方式", "visitor": "咨询人", "category": "咨询类别", "question": "咨询事项",
    "answer": "解答意见", "outcome": "处理结果", "staff": "接待人", "satisfaction": "满意度",
    "follow_up": "回访", "place": "地点", "matter": "事由", "others": "其他参加人", "turns": "记录",
    "name": "姓名", "gender": "性别", "ethnicity": "民族", "age": "年龄", "occupation": "职业",
    "phone": "联系方式", "address": "住址", "employer": "单位",
}


class Placeholder(str):
    """Printed where a value is missing; false in ``{% if %}`` and absorbs attribute access."""

    def __bool__(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Placeholder:
        if name.startswith("__"):
            raise AttributeError(name)
        return Placeholder(f"【待补充：{FIELD_TITLES.get(name, name)}】")

    def __getitem__(self, key: Any) -> Placeholder:  # type: ignore[override]
        return self


def placeholder(name: str) -> Placeholder:
    return Placeholder(f"【待补充：{FIELD_TITLES.get(name, name)}】")


def _context_value(name: str, fv: FieldValue) -> Any:
    if fv.items is not None:
        if not fv.items:
            return [placeholder(name)]
        return [_context_value(name, item) for item in fv.items]
    if fv.parts is not None:
        return {k: _context_value(k, part) for k, part in fv.parts.items()}
    if fv.value is None or fv.value == "" or (fv.value == [] and fv.source == "missing"):
        return [placeholder(name)] if isinstance(fv.value, list) else placeholder(name)
    return fv.value


def _list_typed(document: str) -> set[str]:
    import typing

    from doc_templates.schemas import DOCUMENT_MODELS

    return {n for n, info in DOCUMENT_MODELS[document].model_fields.items() if typing.get_origin(info.annotation) is list}


def template_context(draft: Draft, spec: TemplateSpec, custom: dict[str, str] | None = None,
                     *, final: bool = False) -> dict[str, Any]:
    ctx: dict[str, Any] = {name: _context_value(name, fv) for name, fv in draft.fields.items()}
    for name in _list_typed(draft.document) & set(ctx):
        value = ctx[name]
        if isinstance(value, str) and not isinstance(value, Placeholder):
            # a list saved as one text (drafts edited before lists were lists): print its
            # entries, never one character at a time ("李、调、解")
            ctx[name] = [t.strip() for t in re.split(r"[、,，;；\n]+", value) if t.strip()] or [placeholder(name)]
    ctx.setdefault("read_back", READ_BACK)
    for name in spec.field_names():
        if name not in ctx:
            value = (custom or {}).get(name)
            ctx[name] = value if value not in (None, "") else placeholder(name)
    ctx["draft_notice"] = "" if final else DRAFT_NOTICE
    return ctx


# -- filters the templates may use (documented in docs/documents.md) ------------------------
def cn_date(value: Any) -> str:
    if isinstance(value, Placeholder):
        return str(value)  # falsy on purpose, so never `value or ""` here
    if value in (None, ""):
        return ""
    try:
        if isinstance(value, str) and "T" in value:
            d = dt.datetime.fromisoformat(value)
            return f"{d.year}年{d.month:02d}月{d.day:02d}日 {d.hour:02d}时{d.minute:02d}分"
        d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        return f"{d.year}年{d.month:02d}月{d.day:02d}日"
    except ValueError:
        return str(value)


def cn_numeral(value: Any) -> str:
    try:
        return str(cn2an.an2cn(int(value)))
    except (TypeError, ValueError):
        return str(value)


def jinja_env() -> jinja2.Environment:
    # Sandboxed so a site template cannot reach Python internals; autoescape for XML safety.
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(autoescape=True, undefined=jinja2.ChainableUndefined)
    env.filters["cn_date"] = cn_date
    env.filters["cn_numeral"] = cn_numeral
    return env


def render_docx(draft: Draft, spec: TemplateSpec, out: Path, *, custom: dict[str, str] | None = None,
                final: bool = False) -> Path:
    if draft.document != spec.document:
        raise DocumentError(
            f"the draft is a {draft.document} but template {spec.name!r} prints a {spec.document}",
            fix=f"render with a {draft.document} template")
    tpl = DocxTemplate(str(spec.docx))
    try:
        tpl.render(template_context(draft, spec, custom, final=final), jinja_env=jinja_env(), autoescape=True)
    except jinja2.TemplateError as exc:
        raise DocumentError(f"template {spec.name!r} cannot be rendered: {exc}",
                            fix=f"fix {spec.docx} (run `scribe templates lint`)") from exc
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tpl.save(str(out))
    except OSError as exc:
        raise DocumentError(f"cannot write {out}: {exc}", fix="choose a writable path") from exc
    return out


# -- PDF -------------------------------------------------------------------------------------
def find_soffice(binary: str = "soffice") -> str | None:
    return shutil.which(binary) or shutil.which("libreoffice")


_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
{aliases}
</fontconfig>
"""


def _fontconfig_file(folder: Path, spec: TemplateSpec) -> Path:
    # 仿宋 and 小标宋 are rarely installed on Linux: map them to the named open fallback so
    # LibreOffice does not pick an arbitrary (often sans) CJK face.
    fonts = spec.schema.fonts
    aliases = "\n".join(
        f"  <alias binding=\"same\"><family>{name}</family><prefer><family>{fonts.fallback}</family></prefer></alias>"
        for name in dict.fromkeys((fonts.body, fonts.title, "仿宋", "FangSong", "方正小标宋简体", "宋体", "SimSun"))
    )
    path = folder / "fonts.conf"
    path.write_text(_FONTCONFIG.format(aliases=aliases), encoding="utf-8")
    return path


def docx_to_pdf(docx: Path, pdf: Path, spec: TemplateSpec, *, soffice: str = "soffice",
                timeout_s: float = 180.0) -> Path:
    binary = find_soffice(soffice)
    if binary is None:
        raise DocumentError(
            "PDF output needs LibreOffice, which is not installed (no `soffice` on PATH)",
            fix="apt-get install libreoffice-writer-nogui fonts-noto-cjk, or use the .docx")
    with tempfile.TemporaryDirectory(prefix="scribe-pdf-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, FONTCONFIG_FILE=str(_fontconfig_file(work, spec)), HOME=str(work))
        # A private profile: concurrent conversions (or a desktop LibreOffice) do not collide.
        cmd = [binary, f"-env:UserInstallation=file://{work / 'profile'}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", str(work / "out"), str(docx)]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise DocumentError(f"LibreOffice took longer than {timeout_s:.0f} s to convert {docx.name}",
                                fix="retry, or raise SCRIBE_PDF_TIMEOUT_S") from exc
        produced = work / "out" / (docx.stem + ".pdf")
        if proc.returncode != 0 or not produced.exists():
            raise DocumentError(
                f"LibreOffice could not convert {docx.name} to PDF (exit {proc.returncode}: "
                f"{(proc.stderr or proc.stdout).strip()[:300]})",
                fix="open the .docx in Word/LibreOffice to check it, or use the .docx")
        pdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(produced), pdf)
    return pdf
