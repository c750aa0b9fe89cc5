"""Words of the admin page's webhook-endpoint and voiceprint sections (Chinese, English).

Kept apart from ``scribe.web.i18n`` so the sections travel with their own partials
(``admin_webhooks.html``, ``admin_voiceprints.html``) and scripts; the pages get them as
``tw`` (templates) and the ``admin-privacy-words`` JSON block (scripts)."""

from __future__ import annotations

import json

_T: dict[str, tuple[str, str]] = {
    "webhooks": ("案件系统推送", "Case-system webhooks"),
    "ep_name": ("名称", "Name"),
    "ep_url": ("接收地址", "URL"),
    "ep_events": ("推送事件", "Events"),
    "ep_offices": ("所属机构（多个用逗号分隔，* 为全部机构）", "Offices (comma separated, * for every office)"),
    "ep_offices_short": ("机构", "Offices"),
    "ep_transcript": ("同时推送笔录链接", "Also send transcript links"),
    "ep_state": ("状态", "State"),
    "ep_add": ("添加推送地址", "Add endpoint"),
    "ep_secret_once": ("签名密钥（只显示这一次，请交给接收方）：", "Signing secret (shown once, give it to the receiver): "),
    "ep_rotate": ("更换密钥", "Rotate secret"),
    "ep_test": ("发送测试", "Test-send"),
    "ep_failures": ("失败记录", "Failures"),
    "ep_revoke": ("停用并吊销", "Revoke"),
    "ep_revoke_confirm": ("吊销后不再推送，已发出的下载链接全部失效，且不能恢复。确定吗？",
                          "Revoked: nothing more is sent, every link it got stops working, for good. Sure?"),
    "ep_enabled": ("启用中", "enabled"),
    "ep_disabled": ("已停用", "disabled"),
    "ep_revoked": ("已吊销", "revoked"),
    "ep_rotating": ("旧密钥有效至", "old secret valid until"),
    "ep_all_offices": ("全部机构", "every office"),
    "ep_no_failures": ("近期没有失败的推送", "No recent failures"),
    "ep_failures_24h": ("24小时内失败 {n} 次", "{n} failures in 24 h"),
    "ep_test_ok": ("测试成功：对方答复 {code}（{ms} 毫秒）", "Test delivered: HTTP {code} ({ms} ms)"),
    "ep_test_failed": ("测试失败：", "Test failed: "),
    "ep_next": ("下次重试", "next attempt"),
    "ep_given_up": ("已放弃重试（可在送达状态中重发）", "given up (replay it from the delivery status)"),
    "ev_document.approved": ("文书审核通过", "document approved"),
    "ev_session.completed": ("调解结束", "session completed"),
    "reason_http_4xx": ("对方拒收", "the case system refused it"),
    "reason_http_5xx": ("对方系统出错", "the case system failed"),
    "reason_timeout": ("对方答复超时", "the case system timed out"),
    "reason_unreachable": ("无法连接对方", "could not reach the case system"),
    "reason_refused": ("本机出站安全设置禁止该地址", "this server's outbound safety settings forbid the address"),
    "reason_gone": ("对方答复410，推送已停用", "the receiver answered 410 Gone; endpoint disabled"),
    "reason_other": ("其他错误", "another error"),
    "reason_ok": ("成功", "delivered"),
    "voiceprints": ("声纹", "Voiceprints"),
    "vp_name": ("姓名", "Name"),
    "vp_office": ("机构", "Office"),
    "vp_consent": ("同意时间 / 确认人", "Consent given / confirmed by"),
    "vp_none": ("没有登记的声纹", "No voiceprints enrolled"),
    "vp_delete": ("删除声纹", "Delete"),
    "vp_delete_confirm": ("声纹将被永久删除。确定吗？", "The voiceprint is deleted for good. Sure?"),
    "vp_every_office": ("本机全部", "every office on this machine"),
}


def table(lang: str) -> dict[str, str]:
    i = 1 if lang == "en" else 0
    return {k: v[i] for k, v in _T.items()}


def context(lang: str) -> dict[str, object]:
    """What ``admin.html`` passes its two partials: ``tw`` and its JSON for the scripts."""
    words = table(lang)
    return {"tw": words, "tw_json": json.dumps(words, ensure_ascii=False).replace("<", "\\u003c")}
