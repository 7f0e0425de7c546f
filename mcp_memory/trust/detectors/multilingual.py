"""The three core hijack intents said in other languages.

The English rules read meaning through English words; a poisoned page translated into Spanish or
Chinese says the same thing to a model, which reads every language. Rather than translate every
rule, this module covers the three intents an attack cannot do without, each as a verb class and an
object class per language (Spanish, Portuguese, French, German, Italian, Dutch, Polish, Russian,
Ukrainian, Turkish, Indonesian, Vietnamese, Chinese, Japanese, Korean, Arabic, Hindi):

* drop the earlier instructions (verb "ignore/forget" + noun "instructions/rules");
* keep something from the user (negated "tell/inform" + "the user/anyone");
* send something to a destination (verb "send/upload/forward" + a URL, e-mail address or IP,
  which look the same in every language), worse when the object is a secret or the conversation.

Words are matched after base.normalise (NFKC, look-alikes folded only inside Latin words), so a
Russian sentence keeps its own letters.
"""

from __future__ import annotations

import re

from mcp_memory.trust.detectors.base import Signal, excerpt
from mcp_memory.trust.detectors.hosts import host_risk

_IGNORE_VERB = (
    r"(?:ignor[aeai]\w*|olvid\w*|omit[ae]\w*|descart\w*|haz caso omiso|esque[cç]\w*|desconsider\w*|"
    r"oubli\w*|ne (?:tiens|tenez) (?:pas|plus) compte|ignoriere\w*|vergiss\w*|vergesst|vergessen|"
    r"missachte\w*|dimentic\w*|trascura\w*|negeer\w*|vergeet|zignoruj\w*|ignoruj\w*|zapomnij\w*|"
    r"игнорир\w*|проигнорир\w*|забуд\w*|не обращай\w* внимани\w*|ігнор\w*|проігнор\w*|"
    r"abaikan\w*|lupakan|bỏ qua|quên|تجاهل\w*|انس)"
)
_INSTRUCTIONS = (
    r"(?:instruc[cç]\w*|instru[cç][õo]es|indicaciones|[óo]rdenes|ordens|reglas|regras|consignes|"
    r"directives?|r[eè]gles|ordres|anweisung\w*|instruktion\w*|befehle|regeln|vorgaben|"
    r"istruzion\w*|indicazion\w*|regole|direttive|instructies|aanwijzingen|regels|instrukcj\w*|"
    r"polece\w*|zasad\w*|инструкци\w*|указани\w*|правил\w*|команд\w*|інструкці\w*|вказівк\w*|"
    r"instruksi|perintah|petunjuk|arahan|hướng dẫn|chỉ dẫn|chỉ thị|lệnh|التعليمات|الأوامر|"
    r"निर्देश\w*)"
)
_CJK_IGNORE = (
    r"(?:忽略|无视|忘记|忘掉|不要理会|无需理会|忽視|無視|忘記).{0,10}(?:指令|指示|说明|命令|规则|提示|說明|規則)|"
    r"(?:以前|之前|先前|上述|前面|前の|これまでの|上記の?|이전|앞의|모든).{0,10}"
    r"(?:指令|指示|命令|规则|ルール|指図|지시|명령|지침|규칙).{0,8}(?:無視|忘れ|忽略|无视|무시|잊)|"
    r"(?:önceki|tüm|bütün)\s+(?:talimat|yönerge|kural)\w*\s+(?:yok say|görmezden gel|unut)\w*|"
    r"(?:पिछले|पिछली|सभी|पूर्व)\s+निर्देश\S*\s+(?:को\s+)?(?:अनदेखा|भूल|नज़रअंदाज़|नजरअंदाज)"
)
_IGNORE = re.compile(
    rf"(?<!\w){_IGNORE_VERB}(?!\w)[^.!?\n]{{0,40}}?(?<!\w){_INSTRUCTIONS}|{_CJK_IGNORE}",
    re.IGNORECASE,
)

_HIDE = re.compile(
    r"\bno\s+(?:le\s+|les\s+)?(?:digas|diga|menciones|mencione|informes|informe|cuentes|cuente|"
    r"reveles|revele)\s+(?:nada\s+|esto\s+)?(?:al usuario|a los usuarios|a nadie)|"
    r"\bn[ãa]o\s+(?:diga|conte|mencione|informe|revele)\s+(?:nada\s+|isso\s+)?(?:ao usu[áa]rio|"
    r"ao utilizador|a ningu[ée]m)|"
    r"\bne\s+(?:le\s+|lui\s+|rien\s+)?(?:dis|dites|mentionne|mentionnez|r[ée]v[èe]le|r[ée]v[ée]lez|"
    r"signale|signalez)\s+(?:rien|pas|jamais)?\s*(?:à|a)\s+(?:l'utilisateur|personne)|"
    r"\b(?:sag|sage|erz[äa]hl|erw[äa]hne|verrate|informiere)\w*\s+(?:es\s+|das\s+)?(?:dem "
    r"(?:benutzer|nutzer|anwender)|niemandem)\s+(?:nichts|nicht)|\bohne\s+(?:den|die)\s+"
    r"(?:benutzer|nutzer|anwender)\w*\s+zu\s+informieren|\b(?:der|die)\s+(?:benutzer|nutzer)\w*\s+"
    r"(?:darf|soll)\s+(?:das\s+|davon\s+)?nichts?\s+(?:erfahren|wissen|merken)|"
    r"\bnon\s+(?:dire|dirlo|menzionare|rivelare|informare)\s+(?:nulla\s+|niente\s+)?"
    r"(?:all'utente|a nessuno)|\bvertel\s+(?:het\s+|dit\s+)?(?:de gebruiker|niemand)\s+niets?|"
    r"\bnie\s+(?:m[óo]w|informuj|wspominaj)\w*\s+(?:o tym\s+)?(?:u[żz]ytkownik\w*|nikomu)|"
    r"не\s+(?:говори|сообщай|рассказывай|упоминай|показывай|сообщайте|говорите)\w*\s+"
    r"(?:об этом\s+|ничего\s+)?(?:пользовател\w*|никому)|"
    r"不要(?:告诉|告知|透露|提及|让)(?:用户|任何人|使用者)|对用户保密|不要讓用戶知道|"
    r"ユーザーに(?:言わ|伝え|知らせ|教え)ない|사용자에게\s*(?:말하지|알리지|알려주지)\s*(?:마|말)|"
    r"kullan[ıi]c[ıi]ya\s+(?:söyleme|bahsetme|haber verme)|"
    r"\bjangan\s+(?:beri\s*tahu|memberi\s*tahu|katakan|kasih tahu)\s+(?:kepada\s+)?(?:pengguna|"
    r"siapa\s*pun)|\bkhông\s+(?:được\s+)?(?:nói|báo|cho biết|tiết lộ)\s+(?:cho|với)\s+người dùng",
    re.IGNORECASE,
)

_SEND_VERB = (
    r"(?:env[íi]a\w*|enviar|manda(?:r|lo|la|le)?(?!\w)|mande|reenv[íi]a\w*|sube(?!\w)|envie|encaminh\w*|carregue|envoie\w*|"
    r"envoyer|transmet\w*|transf[èe]re\w*|t[ée]l[ée]verse\w*|sende(?:n|t)?(?!\w)|schick\w*|[üu]bermittle\w*|"
    r"lade\b[^.\n]{0,40}hoch|invia\w*|inoltra\w*|stuur|verstuur|verzend|wy[śs]lij|prze[śs]lij|"
    r"отправ\w*|пошли\w*|перешли\w*|загрузи\w*|надішли\w*|gönder\w*|kirim\w*|unggah\w*|"
    r"gửi|tải lên|أرسل\w*|भेज\w*|发送|发到|发给|上传|转发|发至|送信|送って|送る|アップロード|転送|"
    r"보내|전송|업로드)"
)
_SECRET_WORDS = (
    r"(?:contrase[ñn]a|clave|secreto|credencial|historial|conversaci[óo]n|senha|chave|segredo|"
    r"hist[óo]rico|conversa|mot de passe|cl[ée]|secret|historique|passwort|schl[üu]ssel|geheim|"
    r"verlauf|gespr[äa]ch|password|chiave|segreto|cronologia|conversazione|wachtwoord|sleutel|"
    r"has[łl]o|klucz|пароль|ключ|секрет|токен|истори|переписк|şifre|anahtar|kata sandi|kunci|"
    r"rahasia|mật khẩu|khóa|lịch sử|密码|密钥|令牌|对话|聊天记录|パスワード|キー|秘密|会話|"
    r"비밀번호|키|대화|"
    r"token|api)"
)
_DEST = re.compile(
    r"https?://[^\s\"'`)<>]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b\d{1,3}(?:\.\d{1,3}){3}\b"
)
_SEND = re.compile(rf"(?<!\w){_SEND_VERB}", re.IGNORECASE)
_SECRET = re.compile(_SECRET_WORDS, re.IGNORECASE)


# The same two words in English are the English rules' business (instruction_override).
_ENGLISH_PAIR = re.compile(
    r"^(?:ignor(?:e|es|ed|ing)|forget\w*)\b(?:\s+(?:all|any|the|of|your|my|these|those|previous|"
    r"prior|earlier|above|old|install|build|setup|\w+ing))*\s+(?:instructions?|directives?)$",
    re.IGNORECASE,
)


def _send_signals(text: str) -> list[Signal]:
    for m in _SEND.finditer(text):
        window = text[max(0, m.start() - 160) : m.end() + 160]  # verb-final languages too
        dest = _DEST.search(window)
        if not dest:
            continue
        d = dest.group(0)
        risk = (
            0.5
            if "@" in d and "://" not in d
            else host_risk(d if "://" in d else "https://" + d)[0]
        )
        if risk <= 0.15:
            continue
        sev = 0.35 + risk * 0.3 + (0.25 if _SECRET.search(window) else 0.0)
        end = max(m.end(), max(0, m.start() - 160) + dest.end())
        detail = "Asks (in another language) to send data to an outside address."
        return [
            Signal("exfiltration", round(min(sev, 1.0), 3), excerpt(text, m.start(), end), detail)
        ]
    return []


_IGNORE_NEEDLES = (
    "ignora",
    "ignorez",
    "ignorer",
    "ignorie",
    "ignoruj",
    "olvid",
    "omit",
    "descart",
    "omiso",
    "esque",
    "descons",
    "oubli",
    "compte",
    "vergiss",
    "vergesst",
    "vergessen",
    "missacht",
    "dimentic",
    "trascur",
    "negeer",
    "vergeet",
    "zapomnij",
    "abaikan",
    "lupakan",
    "talimat",
    "yönerge",
    "kural",
)
_HIDE_NEEDLES = (
    "no ",
    "não",
    "nao ",
    "ne ",
    "sag",
    "erz",
    "erw",
    "verrat",
    "informier",
    "ohne",
    "nutzer",
    "non ",
    "vertel",
    "nie ",
    "jangan",
    "kullan",
    "không",
)
_SEND_NEEDLES = (
    "envi",
    "manda",
    "mande",
    "reenv",
    "sube",
    "encaminh",
    "carregue",
    "envoi",
    "envoy",
    "transmet",
    "transf",
    "levers",
    "sende",
    "schick",
    "bermittl",
    "hoch",
    "invia",
    "inoltra",
    "stuur",
    "verzend",
    "wysl",
    "przesl",
    "gonder",
    "kirim",
    "unggah",
)


def _has(low: str, needles: tuple[str, ...]) -> bool:
    return not low.isascii() or any(n in low for n in needles)


def detect(text: str) -> list[Signal]:
    """Flag the three hijack intents written in languages other than English."""
    out = []
    low = text.lower()
    m = _IGNORE.search(text) if _has(low, _IGNORE_NEEDLES) else None
    if m and not _ENGLISH_PAIR.match(m.group(0)):
        detail = "Tells the reader to discard its earlier instructions (another language)."
        out.append(Signal("instruction_override", 0.8, excerpt(text, m.start(), m.end()), detail))
    m = _HIDE.search(text) if _has(low, _HIDE_NEEDLES) else None
    if m:
        detail = "Asks to hide something from the user (another language)."
        out.append(Signal("secrecy_trigger", 0.8, excerpt(text, m.start(), m.end()), detail))
    return out + (_send_signals(text) if _has(low, _SEND_NEEDLES) else [])
