"""Ways to carry data out: URLs with data in them, markdown images, webhooks, uploads of files.

Notes are full of URLs; a URL alone is not exfiltration. The signals need data flowing *out*: a
sensitive object plus a sending verb plus an outside destination, an image whose query string is
filled from the conversation, a collector host, or a file sent as a request body.
"""

from __future__ import annotations

import re

from mcp_memory.trust.detectors.base import Signal, excerpt, framing
from mcp_memory.trust.detectors.dangerous_command import _host_risk

FAMILY = "exfiltration"

_COLLECTORS = re.compile(
    r"(?:discord(?:app)?\.com/api/webhooks|hooks\.slack\.com/services|webhook\.site|"
    r"requestbin|pipedream\.net|\.ngrok(?:-free)?\.(?:io|app|dev)|burpcollaborator|"
    r"interact\.sh|\.oast\.(?:fun|pro|live|site|online|me)|beeceptor|hookbin|postb\.in|"
    r"requestcatcher|canarytokens|transfer\.sh|pastebin\.com|paste\.ee|hastebin|ix\.io|0x0\.st|"
    r"termbin|ptpb|dpaste|api\.telegram\.org/bot|\.trycloudflare\.com|serveo\.net|"
    r"localtunnel\.me|\.loca\.lt|mockbin|ipinfo\.io|\.workers\.dev/(?:collect|log|c)\b)",
    re.IGNORECASE,
)
_MD_IMAGE = re.compile(
    r"!\[[^\]\n]{0,200}\]\(\s*<?(https?://[^)\s>]+\?[^)\s>]*=[^)\s>]*)", re.IGNORECASE
)
_HTML_IMAGE = re.compile(
    r"<img\b[^>]{0,200}\bsrc\s*=\s*[\"']?(https?://[^\"'\s>]+\?[^\"'\s>]*=[^\"'\s>]*)",
    re.IGNORECASE,
)
_BADGE = re.compile(
    r"shields\.io|badge|codecov\.io|coveralls\.io|badgen\.net|travis-ci", re.IGNORECASE
)
_TEMPLATE = re.compile(
    r"\{\{?[^}\s]{1,40}\}?\}|\$\{?[A-Za-z_]\w*|<[A-Za-z_][\w -]{0,30}>|%s|\[[A-Z_ ]{3,30}\]|"
    r"\b(?:DATA|SECRET|TOKEN|KEY|PASSWORD|HISTORY|CONTEXT|CHAT|CONVERSATION|CONTENT|SUMMARY|INFO|"
    r"USER|EMAIL|CODE|ENV)\b",
)
_SENSITIVE = (
    r"(?:secrets?|tokens?|api[ _-]?keys?|keys?|credentials?|passwords?|passwd|env(?:ironment)?"
    r"(?: variables| vars)?|\.env|ssh|id_rsa|cookies?|sessions?|conversation|"
    r"chat(?: history| log)?|"
    r"history|transcript|prompts?|system prompt|user(?:'s)? (?:data|info|details|messages?|code)|"
    r"personal (?:data|info)|pii|source(?: code)?|codebase|repo(?:sitory)?(?: contents)?|"
    r"file contents|contents of|clipboard|config(?:uration)?|aws|gcp|database dump|db dump|"
    r"customer (?:data|records|list)|emails|everything|all (?:files|data))"
)
_VERB = (
    r"(?:send|sends|sending|sent|post|posts|posting|upload|uploads|uploading|forward|forwards|"
    r"transmit|exfiltrate|leak|copy|copies|e-?mail|mail|share|report|sync|beacon|submit|"
    r"append|attach|paste|pipe|push|ship|relay|mirror|cc|bcc|log|dump|export|include|embed|"
    r"encode)"
)
_DEST = (
    r"(?:https?://[^\s\"'`)<>]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|"
    r"\b[\w-]+(?:\.[\w-]+)*\.(?:io|xyz|ru|cn|tk|top|site|online|app|dev|net|com|org|me|sh|cc)"
    r"(?:/[^\s\"'`)<>]*)?)"
)
_SEND_SENSITIVE = re.compile(
    rf"\b{_VERB}\b[^\n]{{0,90}}?\b{_SENSITIVE}\b[^\n]{{0,90}}?\b(?:to|at|into|via|toward|towards|"
    rf"onto|using)\s+(?:the\s+)?(?:endpoint\s+|server\s+|url\s+|address\s+|webhook\s+)?({_DEST})|"
    rf"\b{_SENSITIVE}\b[^\n]{{0,60}}?\b(?:to|at)\s+({_DEST})[^\n]{{0,40}}?\b{_VERB}",
    re.IGNORECASE,
)
_SEND_ANY = re.compile(
    rf"\b{_VERB}\b[^\n]{{0,80}}?\b(?:to|at|into|via)\s+(?:the\s+)?(?:endpoint\s+|server\s+|"
    rf"url\s+|address\s+)?({_DEST})",
    re.IGNORECASE,
)
_CURL_UPLOAD = re.compile(
    r"\b(?:curl|wget|http|httpie|xh)\b[^\n|;]{0,160}?(?:\s(?:-d|--data(?:-binary|-raw|-urlencode)?|"
    r"-F|--form|-T|--upload-file|--post-file(?:=|\s))\s*[\"']?@?[^\s\"']*|"
    r"\$\((?:cat|env|printenv|whoami|hostname|id|history|git config|base64)\b[^)]{0,80}\)|"
    r"`(?:cat|env|printenv|whoami|hostname)\b[^`]{0,80}`)[^\n]{0,160}",
    re.IGNORECASE,
)
_DNS_EXFIL = re.compile(
    r"\b(?:nslookup|dig|host|ping)\s+[^\n]{0,20}\$\((?:[^)]{1,80})\)[.\w-]*|"
    r"\b(?:nslookup|dig)\s+[^\n]{0,20}`[^`]{1,80}`",
    re.IGNORECASE,
)
_SENSITIVE_FILE = re.compile(
    r"\.env\b|id_rsa|id_ed25519|\.ssh|credentials|\.aws|\.npmrc|\.pypirc|\.netrc|/etc/passwd|"
    r"/etc/shadow|secrets?|token|\$\((?:cat|env|printenv)|`(?:cat|env|printenv)|history|"
    r"\.git-credentials|\.kube",
    re.IGNORECASE,
)
_URL_DATA_PARAM = re.compile(
    r"https?://[^\s)\"'`<>]+[?&](?:q|d|data|c|content|msg|message|secret|token|key|info|payload|"
    r"h|history|conv|chat|leak|x|p|u|k|s)=(?:\{\{?|\$\{?|<|\[)[\w -]{0,20}"
    r"(?:secret|token|key|pass|conversation|chat|history|context|summary|env|prompt|cookie|session|"
    r"credential|data|message|transcript|memory)",
    re.IGNORECASE,
)


def _sig(sev: float, text: str, m: re.Match[str], detail: str) -> Signal:
    return Signal(
        FAMILY, round(min(max(sev, 0.0), 1.0), 3), excerpt(text, m.start(), m.end()), detail
    )


def _image_signals(text: str) -> list[Signal]:
    out = []
    for rx in (_MD_IMAGE, _HTML_IMAGE):
        for m in rx.finditer(text):
            url = m.group(1)
            if _BADGE.search(url) or _host_risk(url)[0] <= 0.15:
                continue
            query = url.split("?", 1)[1]
            sev = 0.95 if _TEMPLATE.search(query) else 0.7
            detail = "An image whose URL query can carry data out when it is rendered."
            out.append(_sig(sev, text, m, detail))
            break
    return out


_LINKED_URL = re.compile(
    r"!?\[[^\]\n]{0,200}\]\(\s*<?(https?://[^)\s]+)|\b(?:src|href)\s*=\s*[\"']?(https?://[^\"'\s]+)",
    re.IGNORECASE,
)
_PATH_SLOT = re.compile(
    r"\{\{?\s*[\w.\- ]{1,40}\}?\}|\$\{?[A-Za-z_]\w*\}?|<[A-Za-z_][\w -]{0,30}>|%s|"
    r"\[[A-Z_ ]{3,30}\]|/(?:DATA|SECRETS?|TOKEN|KEY|PASSWORD|HISTORY|CONTEXT|CHAT|CONVERSATION|"
    r"SUMMARY|ENV|[A-Z]+_[A-Z_]+)(?=[/.?#]|$)"
)
_INTO_URL = re.compile(
    rf"\b(?:append|put|add|insert|encode|include|embed|place|write)\b[^\n]{{0,60}}?\b{_SENSITIVE}\b"
    r"[^\n]{0,40}?\b(?:in|into|to|as)\s+(?:the\s+|a\s+|each\s+)?(?:url\s+|image\s+|link\s+)?"
    r"(?:path|filename|file name|subdomain|path segments?|image url|image link|url|link)\b",
    re.IGNORECASE,
)


def _path_signals(text: str) -> list[Signal]:
    """Data carried in a link's path (or host) rather than its query string, which renders and
    leaks just the same: a fill-in slot in the path of a link to an outside host."""
    out: list[Signal] = []
    low = text.lower()
    for m in _LINKED_URL.finditer(text) if "](" in low or "src" in low or "href" in low else ():
        url = m.group(1) or m.group(2)
        rest = url.split("://", 1)[1].split("?", 1)[0]
        if _BADGE.search(url) or _host_risk(url)[0] <= 0.15 or not _PATH_SLOT.search(rest):
            continue
        sev = 0.9 if m.group(0).startswith(("!", "src", "SRC")) else 0.75
        out.append(_sig(sev, text, m, "A link whose path is a slot for data, sent when it loads."))
        break
    slots = ("path", "file name", "filename", "subdomain", "url", "link")
    m = _INTO_URL.search(text) if any(k in low for k in slots) else None
    if m and framing(text, m.start(), m.end()) != "negated":
        out.append(_sig(0.7, text, m, "Asks to put private data into a URL."))
    return out


def _dest_risk(dest: str) -> float:
    if dest.lower().startswith(("http://", "https://")):
        return _host_risk(dest)[0]
    if "@" in dest:
        return 0.5
    return _host_risk("https://" + dest)[0]


def _send_signals(text: str) -> list[Signal]:
    out = []
    m = _SEND_SENSITIVE.search(text)
    if m:
        dest = m.group(1) or m.group(2) or ""
        risk = _dest_risk(dest)
        if risk > 0.15 and framing(text, m.start(), m.end()) != "negated":
            detail = "Sends secrets or conversation data to an outside destination."
            out.append(_sig(0.55 + risk * 0.4, text, m, detail))
    if not out:
        m = _SEND_ANY.search(text)
        if m and _dest_risk(m.group(1)) >= 0.75 and framing(text, m.start(), m.end()) != "negated":
            out.append(_sig(0.6, text, m, "Sends data to a bare IP or plain-http host."))
    m = _URL_DATA_PARAM.search(text)
    if m and _host_risk(m.group(0))[0] > 0.15:
        out.append(_sig(0.75, text, m, "A URL template that puts data in its query string."))
    return out


def _collector_signals(text: str) -> list[Signal]:
    m = _COLLECTORS.search(text)
    if not m:
        return []
    near = text[max(0, m.start() - 200) : m.end() + 200]
    sending = re.search(rf"\b{_VERB}\b|\bcurl\b|\bwget\b|\bfetch\b", near, re.IGNORECASE)
    sensitive = re.search(rf"\b{_SENSITIVE}\b", near, re.IGNORECASE)
    sev = 0.35 + (0.2 if sending else 0.0) + (0.3 if sensitive and sending else 0.0)
    if framing(text, m.start(), m.end()) == "negated":
        sev *= 0.3
    return [_sig(sev, text, m, "A request-collector or paste host that receives data.")]


def _upload_signals(text: str) -> list[Signal]:
    out = []
    m = _CURL_UPLOAD.search(text)
    if m:
        url_m = re.search(r"https?://[^\s\"'`)]+|\b\d{1,3}(?:\.\d{1,3}){3}\b", m.group(0))
        risk = _dest_risk(url_m.group(0)) if url_m else 0.3
        if risk >= 0.15:
            sens = bool(_SENSITIVE_FILE.search(m.group(0)))
            sev = 0.45 + (0.4 if sens else 0.0) + risk * 0.15
            if sens or risk >= 0.75:
                out.append(_sig(sev, text, m, "Uploads a local file or command output to a host."))
    m = _DNS_EXFIL.search(text)
    if m:
        out.append(_sig(0.85, text, m, "Leaks command output through DNS look-ups."))
    return out


def detect(text: str) -> list[Signal]:
    """Flag data leaving the machine through URLs, images, webhooks or uploads."""
    return (
        _image_signals(text)
        + _path_signals(text)
        + _send_signals(text)
        + _collector_signals(text)
        + _upload_signals(text)
    )
