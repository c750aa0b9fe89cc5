"""The one message catalogue: every error the server sends, by its stable ``code``, in Chinese
and English, and the words for the fields a validation error names.

The server answers an error with ``code`` and ``params`` (and ``message``, already said in the
asker's language); the pages get the same templates through ``scribe.web.i18n.table`` and say
the error from ``code`` and ``params`` themselves (``errorText`` in static/common.js), so no
English sentence reaches a Chinese page. A template's ``{x}`` is the parameter ``x``;
``{x@prefix_}`` is the page word ``prefix_<x>`` (``{state@state_}`` -> 已结束).

Routes of other areas still raise ``HTTPException`` with an English sentence or a ScribeError
with only its class's code; ``classify`` maps the sentences met on the pages to their code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    # -- by HTTP status, when nothing finer is known -------------------------------------
    "http_400": ("请求有误，请检查后重试", "The request is wrong; check it and try again"),
    "http_401": ("请先登录", "Please log in"),
    "http_403": ("您的账户没有此项操作的权限", "Your account may not do this"),
    "http_404": ("找不到该页面或记录", "Not found"),
    "http_405": ("不支持此操作", "This operation is not supported"),
    "http_409": ("此操作与当前状态冲突，请刷新页面后重试", "This conflicts with the current state; reload the page and try again"),
    "http_413": ("上传的内容过大", "What was sent is too large"),
    "http_422": ("提交的内容有误", "What was sent is not valid"),
    "http_429": ("操作过于频繁，请 {seconds} 秒后再试", "Too many requests; try again in {seconds} s"),
    "http_500": ("服务器出错，请稍后再试或联系管理员", "The server failed; try again later or call the administrator"),
    "http_503": ("服务暂不可用，请稍后再试或联系管理员", "The service is not available; try later or call the administrator"),
    # -- by error class (scribe/errors.py), when the raise site gave no finer code ------------
    "error": ("操作未能完成", "That could not be done"),
    "session": ("案件当前无法执行此操作，请刷新页面查看其状态", "The case cannot do this now; reload the page to see where it stands"),
    "document": ("文书有误，无法完成此操作", "The document cannot be changed that way"),
    "account": ("账户信息有误", "The account details are not valid"),
    "delivery": ("送达设置有误", "The delivery settings are not valid"),
    "model": ("语音或起草模型不可用，请联系管理员", "A speech or drafting model is not available; call the administrator"),
    "config": ("服务器设置有误，请联系管理员", "The server's settings are wrong; call the administrator"),
    "audio": ("无法读取这段录音", "The recording cannot be read"),
    "diarization": ("无法从这段录音中区分说话人（可能讲话太少）", "Speakers could not be told apart in that recording (too little speech?)"),
    "output": ("结果无法保存", "The result cannot be saved"),
    # -- logins and accounts -------------------------------------------------------------
    "login_failed": ("用户名或密码错误", "Wrong user name or password"),
    "too_many_logins": ("登录失败次数过多，请 {minutes} 分钟后再试，或请管理员解锁或重置密码",
                        "Too many failed logins; try again in {minutes} min, or ask an administrator to unlock or reset the password"),
    "account_locked": ("该账户因多次登录失败已被锁定，请 {minutes} 分钟后再试，或请管理员解锁",
                       "This account is locked after failed logins; try in {minutes} min or ask an administrator to unlock it"),
    "csrf": ("页面已过期，请刷新页面后重试", "The page has expired; reload it and try again"),
    "missing_scope": ("您的账户没有此项操作的权限", "Your account may not do this"),
    "user_not_found": ("找不到该用户", "No such user"),
    "disable_self": ("不能停用自己的账户，请另一位管理员操作", "You cannot disable your own account; ask another administrator"),
    "username_taken": ("用户名“{username}”已被使用，请换一个", "The user name {username} is taken; choose another"),
    "password_short": ("密码至少需要 {min} 个字符", "A password needs at least {min} characters"),
    "password_variety": ("密码中不同的字符太少，请换一个更复杂的密码", "The password has too few different characters"),
    "token_not_found": ("找不到该接口令牌", "No such API token"),
    "token_admin": ("接口令牌不能拥有管理权限", "API tokens cannot carry the admin permission"),
    "token_scope_missing": ("接口令牌至少需要一项权限", "A token needs at least one permission"),
    "unlock_unavailable": ("此服务器尚不支持解锁账户", "This server cannot unlock accounts yet"),
    # -- hearings ------------------------------------------------------------------------
    "hearing_not_found": ("本单位没有这个案件（可能已删除，或属于其他单位）", "Your office has no such case (deleted, or another office's)"),
    "document_not_found": ("找不到该文书", "No such document"),
    "unknown_category": ("没有“{category}”这种纠纷类型，请从列表中选择", "There is no dispute category {category}; pick one from the list"),
    "office_all": ("全市通用账户不能创建案件，请用本所工作人员的账户登录", "An all-offices account cannot own a case; log in as a member of the office"),
    "parties_locked": ("录音开始后不能删除当事人（其同意记录已存档），请改为更正其信息",
                       "Parties cannot be removed once recording has begun; correct their details instead"),
    "no_such_party": ("没有这位当事人，请从列表中选择", "There is no such party; pick one from the list"),
    "consent_notice_unread": ("请先向该当事人宣读录音告知，再确认其同意", "Read the recording notice to the party first, then confirm"),
    "consent_missing": ("尚未取得以下当事人的录音同意：{names}。请宣读告知并逐一确认",
                        "No consent to recording yet from {names}; read the notice and confirm each"),
    "no_parties": ("本案件还没有当事人，请先在案件信息中添加当事人", "This case has no parties yet; add them to the case first"),
    "party_changed": ("当事人名单已变更，请刷新页面后再确认", "The party list has changed; reload the page and confirm again"),
    "consent_by_person": ("录音同意须由在调解台登录的工作人员确认", "Consent must be confirmed by a person logged in at the desk"),
    "state_transition": ("案件当前状态为“{state@state_}”，不能{step@step_}", "The case is {state@state_}; it cannot {step@step_}"),
    "recording_now": ("案件正在录音，请先点“结束”", "The case is being recorded; press Stop first"),
    "live_not_running": ("本服务器没有加载语音模型，无法录音，请联系管理员", "This server has no speech models loaded; call the administrator"),
    "not_recorded": ("本案件尚未录音，请先点“录音”", "This case has not been recorded yet; press Record first"),
    "no_transcript": ("本案件还没有记录文字，请先录音并结束", "This case has no transcript yet; record it and press Stop"),
    "no_recording": ("本案件还没有录音", "This case has no recording yet"),
    "no_segment": ("记录中没有这一段", "The transcript has no such line"),
    "approve_by_person": ("批准须由审核人本人登录后操作", "Approval is a person's act; log in as a reviewer"),
    "return_by_person": ("退回文书须由审核人本人登录后操作", "Returning a document is a person's act; log in as a reviewer"),
    "four_eyes": ("您生成或修改过这一版文书，须由另一位审核人批准", "You generated or edited this version; another reviewer must approve it"),
    "no_agreement": ("本次调解的结果是“{outcome}”，没有达成协议，不能起草人民调解协议书，请改为起草人民调解记录",
                     "The mediation ended {outcome} with no agreement; draft the mediation record instead"),
    "voiceprint_person": ("声纹只能由本人登录后录入", "A voiceprint is enrolled by its owner, logged in"),
    "voiceprint_consent": ("录入声纹须单独同意，请阅读告知后勾选同意", "A voiceprint needs your separate consent; tick the box after reading the notice"),
    "voiceprint_long": ("录音超过30秒，请录5到30秒", "The recording is longer than 30 s; record 5-30 s"),
    # -- webhook endpoints (scribe.delivery.safety), the admin page's 案件系统推送 -------------
    "webhook_plain_http": ("送达地址 {url} 使用明文 HTTP，请改用案件系统的 https:// 地址（本机开发用的接收端可设置 SCRIBE_DELIVERY__ALLOW_LOOPBACK_HTTP=true）",
                           "The webhook URL {url} is plain HTTP; use the case system's https:// URL (a development receiver on this machine: SCRIBE_DELIVERY__ALLOW_LOOPBACK_HTTP=true)"),
    "webhook_http_not_loopback": ("送达地址 {url} 使用明文 HTTP，且指向 {address}，不是本机地址：明文 HTTP 只允许送往本机开发用的接收端，请改用 https:// 地址",
                                  "The webhook URL {url} is plain HTTP to {address}, not this machine: plain HTTP is only for a development receiver on loopback; use https://"),
    "webhook_address_refused": ("送达地址的主机 {host} 解析为 {address}，属于本机、内网或云服务的内部地址，不允许送达；请使用案件系统的公网地址，或由管理员在设置中开放该网段",
                                "The webhook host {host} resolves to {address}, a loopback, private or metadata address; use the case system's public address or open that network in the settings"),
    "webhook_host_unresolved": ("无法解析送达地址的主机 {host}，请核对地址和本机的网络设置", "The webhook host {host} does not resolve; check the URL and this machine's DNS"),
    "webhook_url_invalid": ("送达地址不是完整的 http(s) 网址，请填写如 https://cases.example.gov.cn/hooks/scribe 的地址",
                            "The webhook URL is not a full http(s) URL; give one like https://cases.example.gov.cn/hooks/scribe"),
    "webhook_url_credentials": ("送达地址中不能包含用户名或密码（接收端凭签名核验），请删去", "The webhook URL carries a user name or password; remove them"),
    "invalid": ("{problems}", "{problems}"),
    "bad_json": ("提交的内容不是有效的数据，请刷新页面后重试", "What was sent is not valid JSON; reload the page and try again"),
}

# -- the live WebSocket's warnings and errors (scribe/live, docs/events.md), by the event's
# ``code``; ``{x}`` is a detail of the event. The desk says them with ``liveText``
# (static/common.js); a ``refused``/``start_failed`` with a ``reason`` says that reason's
# message above instead (consent_missing with the names, ...). "degraded" is said by level.
LIVE: dict[str, tuple[str, str]] = {
    "degraded_0": ("电脑已跟上：实时文字和说话人标注已恢复", "The computer keeps up again: live text and speaker labels are back"),
    "degraded_1": ("电脑负载较高：实时文字会稍有延迟，结束后将重新生成完整记录",
                   "The computer is busy: live text lags a little; the full transcript is redone after Stop"),
    "degraded_2": ("电脑负载过高：实时文字和说话人标注暂停，录音照常保存，结束后将生成完整记录",
                   "The computer is far behind: live text and speaker labels pause; the recording goes on and the full transcript is made after Stop"),
    "no_signal": ("麦克风已有 {seconds} 秒没有声音，请检查麦克风是否接好、是否静音",
                  "The microphone has been silent for {seconds} s: check that it is connected and not muted"),
    "clipping": ("声音过大，录音失真：请调低麦克风音量，或让麦克风离说话人远一些",
                 "The input is too loud (clipping): lower the microphone gain or move it away from the speaker"),
    "live_gap": ("实时文字跳过了 {seconds} 秒以赶上进度；这段录音已保存，结束后的完整记录会包含它",
                 "Live text skipped {seconds} s to catch up; that audio is recorded and the full transcript has it"),
    "consent_paused": ("录音已暂停：{names} 尚未同意录音（{reason@consent_reason_}）。宣读录音告知并确认同意后才能继续录音",
                       "Recording paused: {names} has not consented ({reason@consent_reason_}). Read the notice and confirm consent to record on"),
    "recognition_failed": ("实时识别出错，录音仍在继续，结束后的完整记录会转写这一段",
                           "Live recognition failed; the recording goes on and the full transcript will have this stretch"),
    "recognition_recovered": ("实时识别已恢复", "Live recognition works again"),
    "capture_failed": ("录音来源出错，已录下的内容都已保存；请检查麦克风后点击 继续录音",
                       "The audio source failed; what was recorded is kept: check the microphone and press Continue recording"),
    "final_pass_failed": ("最终记录生成失败，录音和实时文字已保留，请重试", "The final pass failed; the recording and the live text are kept — try again"),
    "not_recording": ("会话未在录音", "The session is not recording"),
    "session_closed": ("此会话的录音已结束", "Recording of this session has ended"),
    "frame_too_large": ("一段音频过大（{bytes} 字节，上限 {limit} 字节），已丢弃", "An audio frame was too large ({bytes} bytes, limit {limit}) and was dropped"),
    "bad_frame": ("一段音频格式不对，已丢弃", "An audio frame was malformed and was dropped"),
    "bad_message": ("调解台发出的指令格式不对，已忽略；请刷新页面", "The desk sent a malformed message; it was ignored — reload the page"),
    "unknown_op": ("调解台发出了无法识别的指令，已忽略；请刷新页面", "The desk sent an unknown command; it was ignored — reload the page"),
    "bad_session_id": ("录音会话的编号不对，请从案件列表重新打开", "The recording session's id is wrong; open the case again from the list"),
    "start_failed": ("无法开始录音", "Recording could not start"),
    "refused": ("录音被拒绝", "Recording was refused"),
    "warning": ("录音出现问题，请留意", "Something is wrong with the recording"),
    "error": ("录音出错", "The recording failed"),
}

CONSENT_REASONS: dict[str, tuple[str, str]] = {
    "consent_refused": ("当事人拒绝录音", "a party refused"),
    "party_changed": ("当事人有变更", "a party changed"),
    "party_added": ("新增当事人", "a party was added"),
}

# -- what a validation problem says; {field} is the field's word below --------------------
PROBLEMS: dict[str, tuple[str, str]] = {
    "missing": ("缺少{field}", "{field} is missing"),
    "too_long": ("{field}最多 {limit} 个字", "{field} has at most {limit} characters"),
    "too_short": ("{field}至少 {limit} 个字", "{field} needs at least {limit} characters"),
    "list_too_long": ("{field}最多 {limit} 项", "at most {limit} {field}"),
    "list_too_short": ("至少需要 {limit} 项{field}", "at least {limit} {field} needed"),
    "too_small": ("{field}不能小于 {limit}", "{field} cannot be below {limit}"),
    "too_large": ("{field}不能大于 {limit}", "{field} cannot be above {limit}"),
    "not_number": ("{field}应填数字", "{field} must be a number"),
    "not_date": ("{field}不是有效的日期", "{field} is not a valid date"),
    "choice": ("{field}不在可选范围内，请从列表中选择", "{field} is not one of the choices"),
    "pattern": ("{field}的格式不对", "{field} has the wrong form"),
    "extra": ("多余的项目{field}", "unexpected item {field}"),
    "invalid": ("{field}无效", "{field} is not valid"),
    # scribe.web.intake
    "visitor_in_mediation": ("人民调解案件中没有咨询人，请改选申请人、被申请人等身份",
                             "a mediation has no visitor; choose applicant, respondent, ..."),
    "party_in_consultation": ("法律咨询请使用“咨询人”身份", "a consultation's person is the visitor"),
    "declined_in_mediation": ("人民调解的当事人不能拒绝提供身份信息（协议书需要）",
                              "a mediation party cannot decline to give identity (the agreement needs it)"),
    "represents_invalid": ("请从申请人、被申请人等当事人中选择所代理或陪同的人",
                           "pick the party they speak for from the applicant, respondent, ..."),
    "represents_not_agent": ("只有代理人和亲属需要选择所代理或陪同的当事人", "only agents and relatives speak for a party"),
    "birth_date_range": ("出生日期不在合理范围内", "the birth date is out of range"),
    "age_mismatch": ("年龄与出生日期不符（按出生日期应为 {computed} 岁）", "the age does not match the birth date ({computed})"),
    "phone_format": ("联系电话只能包含数字、空格和“-”", "a phone number has digits, spaces and '-' only"),
    "id_shape": ("身份证号码应为18位（17位数字加一位数字或X）", "an ID number has 18 characters (17 digits and a digit or X)"),
    "id_birth": ("身份证号码中的出生日期无效，请核对", "the ID number's birth date is not a date; check it"),
    "id_checksum": ("身份证号码校验位不对（按前17位应为 {expected}），请核对", "the ID number's check character is wrong (should be {expected}); check it"),
    "id_gender": ("身份证号码显示性别为{gender}，与所填性别不符", "the ID number says {gender}, not the gender given"),
    "id_birth_mismatch": ("身份证号码中的出生日期为 {born}，与所填出生日期不符", "the ID number's birth date is {born}, not the one given"),
    "staff_unknown": ("所选人员不是本所在职的工作人员", "that person is no active member of this office"),
    # a draft's own rules (doc_templates/schemas.py validators), scribe.web.document_problems
    "case_number_format": ("{field}应写成“（2026）城人调字第12号”的样式", "{field} reads like （2026）城人调字第12号"),
    "copies_mismatch": ("份数应为当事人数加一（{want}份），现为{copies}份", "copies must be parties + 1 ({want}), not {copies}"),
    "confirmation_deadline": ("申请司法确认截止日应为协议日期后30天（{expected}）", "the judicial confirmation deadline is the date + 30 days ({expected})"),
    "deadline_before_date": ("履行期限早于协议日期", "the performance deadline lies before the agreement date"),
    "sides_repeat": ("每位当事人需各占一方（甲方、乙方、丙方……）", "each party needs its own side"),
    "visitor_name_missing": ("缺少咨询人姓名：请填写，或注明其拒绝提供", "the visitor's name is missing: fill it or record that they declined"),
    "speaker_unknown": ("记录中有未指明身份的说话人", "a turn's speaker is not named"),
    "document_invalid": ("{field}不符合文书格式要求", "{field} does not meet the document's format"),
}

FIELDS: dict[str, tuple[str, str]] = {
    "kind": ("类型", "type"), "case_number": ("案号", "case number"), "title": ("事由", "matter"),
    "category": ("纠纷类型", "category"), "language": ("语言", "language"), "place": ("地点", "place"),
    "parties": ("当事人", "parties"), "staff": ("工作人员", "staff"), "hotwords": ("热词", "hotwords"),
    "hearing_date": ("日期", "date"), "role": ("身份", "role"), "name": ("姓名", "name"),
    "gender": ("性别", "gender"), "ethnicity": ("民族", "ethnicity"), "birth_date": ("出生日期", "birth date"),
    "age": ("年龄", "age"), "occupation": ("职业", "occupation"), "employer": ("工作单位", "employer"),
    "id_type": ("证件类型", "ID type"), "id_number": ("身份证号码", "ID number"), "address": ("住址", "address"),
    "phone": ("联系电话", "phone"), "represents": ("代理或陪同的当事人", "the party spoken for"),
    "identity_declined": ("拒绝提供身份", "identity declined"), "user_id": ("工作人员账户", "staff account"),
    "username": ("用户名", "user name"), "password": ("密码", "password"), "office": ("所属单位", "office"),
    "display_name": ("显示姓名", "display name"), "active": ("启用状态", "active"), "scopes": ("权限", "permissions"),
    "expires_days": ("有效天数", "days valid"), "party_index": ("当事人", "party"), "consented": ("是否同意", "consent"),
    "notice_read": ("已宣读告知", "notice read"), "text": ("文字", "text"), "q": ("搜索内容", "search"),
    "limit": ("条数", "limit"), "offset": ("起始位置", "offset"), "date_from": ("起始日期", "from"),
    "date_to": ("截止日期", "to"), "status": ("状态", "status"), "body": ("提交的内容", "request body"),
    "template": ("文书类型", "document"), "value": ("内容", "value"), "field": ("项目", "field"),
    # the documents' fields (doc_templates/schemas.py), as the review page names them
    "organisation": ("人民调解委员会/单位", "organisation"), "date": ("日期", "date"),
    "dispute_category": ("纠纷类型", "dispute category"), "facts": ("纠纷主要事实、争议事项", "facts"),
    "responsibility": ("各方责任", "responsibility"), "terms": ("协议条款", "terms"),
    "performance_manner": ("履行方式", "manner of performance"), "performance_place": ("履行地点", "place of performance"),
    "performance_deadline": ("履行期限", "performance deadline"), "deadlines": ("各项期限", "deadlines"),
    "copies": ("份数", "copies"), "judicial_confirmation_deadline": ("申请司法确认截止日", "judicial confirmation deadline"),
    "mediators": ("人民调解员", "mediators"), "recorder": ("记录人", "recorder"), "legal_bases": ("法律依据", "legal bases"),
    "time": ("时间", "time"), "channel": ("咨询方式", "channel"), "visitor": ("咨询人", "visitor"),
    "question": ("咨询事项", "question"), "answer": ("解答意见", "answer"), "outcome": ("处理结果", "outcome"),
    "satisfaction": ("满意度", "satisfaction"), "follow_up": ("回访", "follow-up"), "matter": ("事由", "matter"),
    "others": ("其他参加人", "others present"), "turns": ("记录正文", "turns"), "result": ("调解结果", "result"),
    "reason": ("原因", "reason"), "remedies": ("告知诉讼、仲裁途径", "remedies told"), "side": ("方", "side"),
    "speaker": ("说话人", "speaker"), "speakers": ("说话人身份", "speakers"), "corrections": ("更正", "corrections"), "read_back": ("宣读确认", "read-back"),
}  # fmt: skip

# Where a document prints a field under another name than the intake page (the one list the
# review page names a draft's fields from: docfield_<name>, else the FIELDS word above).
DOCUMENT_FIELDS: dict[str, tuple[str, str]] = {
    "case_number": ("编号", "number"), "category": ("咨询类别", "consultation category"), "staff": ("接待人", "staff"),
    "phone": ("联系方式", "phone"), "start": ("开始时间", "start"), "end": ("结束时间", "end"),
}  # fmt: skip

# pydantic error types -> the problem kinds above
_PYDANTIC: dict[str, str] = {
    "missing": "missing", "string_too_long": "too_long", "string_too_short": "too_short",
    "too_long": "list_too_long", "too_short": "list_too_short", "greater_than_equal": "too_small",
    "greater_than": "too_small", "less_than_equal": "too_large", "less_than": "too_large",
    "int_parsing": "not_number", "int_type": "not_number", "int_from_float": "not_number", "float_parsing": "not_number",
    "date_parsing": "not_date", "date_from_datetime_parsing": "not_date", "date_type": "not_date",
    "datetime_parsing": "not_date", "enum": "choice", "literal_error": "choice", "string_pattern_mismatch": "pattern",
    "extra_forbidden": "extra",
}  # fmt: skip

# English sentences other areas raise, mapped to their code: (status or None, pattern, code)
_SENTENCES: list[tuple[int | None, str, str]] = [
    (401, r"^wrong user name or password", "login_failed"),
    (429, r"locked", "account_locked"),
    (429, r"too many failed logins", "too_many_logins"),
    (403, r"CSRF", "csrf"),
    (403, r"permission", "missing_scope"),
    (403, r"consent must be confirmed by a person", "consent_by_person"),
    (403, r"approval is a person's act", "approve_by_person"),
    (403, r"voiceprint belongs to a person", "voiceprint_person"),
    (409, r"voiceprint needs your separate consent", "voiceprint_consent"),
    (413, r"longer than 30 s", "voiceprint_long"),
    (404, r"^no user ", "user_not_found"),
    (404, r"^no API token", "token_not_found"),
    (404, r"^no document ", "document_not_found"),
    (404, r"segment", "no_segment"),
    (404, r"no recording", "no_recording"),
    (409, r"cannot disable your own account", "disable_self"),
    (409, r"all-offices account cannot own", "office_all"),
    (503, r"live-session engine is not running", "live_not_running"),
    (None, r"live-session engine is not running", "live_not_running"),
    (None, r"is being recorded", "recording_now"),
    (None, r"has not been recorded yet", "not_recorded"),
    (None, r"no transcript", "no_transcript"),
    (None, r"no consent on record from (?P<names>.+)$", "consent_missing"),
    (None, r"consent needs the recording notice", "consent_notice_unread"),
    (None, r"has no parties", "no_parties"),
    (None, r"there is no party (?P<index>\d+)", "no_such_party"),
    (None, r"has no party with id", "party_changed"),
    (None, r"parties cannot be removed once recording", "parties_locked"),
    (None, r"^unknown dispute category '(?P<category>.*)'", "unknown_category"),
    (None, r"^the user name .* is taken", "username_taken"),
    (None, r"^the password has \d+ characters", "password_short"),
    (None, r"repeats too few different characters", "password_variety"),
    (None, r"cannot carry the admin scope", "token_admin"),
    (None, r"needs at least one scope", "token_scope_missing"),
    (None, r"^the webhook URL '(?P<url>[^']*)' is plain HTTP to (?P<address>\S+), not a loopback", "webhook_http_not_loopback"),
    (None, r"^the webhook URL '(?P<url>[^']*)' is plain HTTP", "webhook_plain_http"),
    (None, r"^the webhook host '(?P<host>[^']*)' resolves to (?P<address>[^,\s]+), ", "webhook_address_refused"),
    (None, r"^the webhook host '(?P<host>[^']*)' (?:does not resolve|resolves to no address)", "webhook_host_unresolved"),
    (None, r"^the webhook URL .* is not an http\(s\) URL", "webhook_url_invalid"),
    (None, r"^the webhook URL carries a user name or password", "webhook_url_credentials"),
]


# the codes of a whole class of errors (scribe.errors): only a generic sentence in the catalogue
GENERIC_CODES = frozenset({"error", "session", "document", "account", "delivery", "audio", "model", "config", "output"})


def classify(status: int, message: str, code: str, params: Mapping[str, Any],
             headers: Mapping[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    """The finest code known for an error: the raise site's, else the sentence's, else the
    class's, else the status's; with the parameters its message names."""
    out = dict(params)
    if code not in MESSAGES or code in GENERIC_CODES or code.startswith("http_"):
        for want, pattern, found in _SENTENCES:
            if (want is None or want == status) and re.search(pattern, message):
                code = found
                found_params = re.search(pattern, message)
                if found_params:
                    for key, value in found_params.groupdict().items():
                        out.setdefault(key, value)
                break
        else:
            if code not in MESSAGES or code == "error":
                code = f"http_{status}" if f"http_{status}" in MESSAGES else "error"
    retry = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if retry and retry.isdigit():
        out.setdefault("seconds", int(retry))
        out.setdefault("minutes", max(1, math.ceil(int(retry) / 60)))
    if code in ("http_429", "too_many_logins", "account_locked"):
        out.setdefault("seconds", 60)
        out.setdefault("minutes", max(1, math.ceil(int(out["seconds"]) / 60)))
    if code == "username_taken" and "username" not in out:
        found_name = re.search(r"'(.*)'", message)
        out["username"] = found_name.group(1) if found_name else ""
    if code == "password_short" and "min" not in out:
        out["min"] = 10
    return code, out


def problems_from_pydantic(errors: Sequence[Mapping[str, Any]], body: Any) -> list[dict[str, Any]]:
    """Pydantic's errors as problems naming the person and the field (role and name taken
    from what was sent), e.g. {"party": 0, "role": "applicant", "name": "张三", "field":
    "gender", "kind": "choice"}."""
    out: list[dict[str, Any]] = []
    for err in errors:
        loc = [p for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        kind = _PYDANTIC.get(str(err.get("type")), "invalid")
        if err.get("type") == "json_invalid":
            return [{"field": "body", "kind": "bad_json"}]
        problem: dict[str, Any] = {"kind": kind}
        if len(loc) >= 2 and loc[0] in ("parties", "staff") and isinstance(loc[1], int):
            which, index = str(loc[0]), int(loc[1])
            problem["party" if which == "parties" else "staff"] = index
            sent = _item(body, which, index)
            if isinstance(sent.get("role"), str):
                problem["role"] = sent["role"]
            if isinstance(sent.get("name"), str) and sent["name"].strip():
                problem["name"] = sent["name"].strip()[:64]
            rest = [str(x) for x in loc[2:] if not isinstance(x, int)]
            problem["field"] = rest[0] if rest else which
        else:
            names = [str(x) for x in loc if not isinstance(x, int)]
            problem["field"] = names[-1] if names else "body"
        ctx = err.get("ctx") or {}
        for key in ("max_length", "min_length", "ge", "gt", "le", "lt"):
            if key in ctx:
                problem["limit"] = ctx[key]
        if kind == "too_short" and problem.get("limit") == 1:
            problem["kind"] = "missing"  # an empty required text is a missing one
        out.append(problem)
    return out


def _item(body: Any, which: str, index: int) -> dict[str, Any]:
    try:
        item = body[which][index]
    except (KeyError, IndexError, TypeError):
        return {}
    return item if isinstance(item, dict) else {}


_SLOT = re.compile(r"\{(\w+)(?:@(\w+))?\}")


def fill(template: str, params: Mapping[str, Any], words: Callable[[str], str | None]) -> str:
    def one(m: re.Match[str]) -> str:
        value = params.get(m.group(1), "")
        if m.group(2):
            return words(m.group(2) + str(value)) or str(value)
        return str(value)

    return _SLOT.sub(one, template)


def problem_text(p: Mapping[str, Any], lang: str, words: Callable[[str], str | None]) -> str:
    i = 1 if lang == "en" else 0
    field = FIELDS.get(str(p.get("field")), (str(p.get("field")),) * 2)[i]
    if p.get("kind") == "bad_json":
        return MESSAGES["bad_json"][i]
    template = PROBLEMS.get(str(p.get("kind")), PROBLEMS["invalid"])[i]
    text = fill(template, {**p, "field": field}, words)
    who = ""
    for key in ("party", "staff"):
        if key in p:
            role = p.get("role_label") or words("role_" + str(p.get("role", ""))) \
                or (FIELDS["parties" if key == "party" else "staff"][i])
            name = p.get("name") or ("#%d" % (int(p[key]) + 1) if lang == "en" else "（第%d位）" % (int(p[key]) + 1))
            who = f"{role} {name}".replace(" （", "（")
    return f"{who}：{text}" if who and lang != "en" else (f"{who}: {text}" if who else text)


def render(code: str, params: Mapping[str, Any], lang: str, words: Callable[[str], str | None]) -> str:
    i = 1 if lang == "en" else 0
    if code == "invalid":
        sep = "; " if lang == "en" else "；"
        return sep.join(problem_text(p, lang, words) for p in params.get("problems") or [])
    template = MESSAGES.get(code, MESSAGES["error"])[i]
    return fill(template, params, words)


def page_words(lang: str) -> dict[str, str]:
    """The catalogue as the pages' words: err_<code>, problem_<kind>, field_<name>, live_<code>."""
    i = 1 if lang == "en" else 0
    out = {f"err_{k}": v[i] for k, v in MESSAGES.items()}
    out.update({f"problem_{k}": v[i] for k, v in PROBLEMS.items()})
    out.update({f"field_{k}": v[i] for k, v in FIELDS.items()})
    out.update({f"docfield_{k}": v[i] for k, v in {**FIELDS, **DOCUMENT_FIELDS}.items()})
    out.update({f"live_{k}": v[i] for k, v in LIVE.items()})
    out.update({f"consent_reason_{k}": v[i] for k, v in CONSENT_REASONS.items()})
    return out
