"""Cue phrases that mark decisions and action items, and who owns an action.

Patterns are per language but applied to every sentence, because mixed meetings
switch language mid-sentence ("这个 PR 我来 review"). A question is a decision
never, and an action item only when it is a request ("Can you…?", "你能不能…？").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ActionCue",
    "NameBook",
    "OwnerKind",
    "action_cue",
    "clean_sentence",
    "is_acknowledgement",
    "is_decision",
]

_I = re.IGNORECASE

# ---------------------------------------------------------------- decisions

_DECISION = re.compile(
    r"\bwe(?:'ve|\s+have)?\s+(?:all\s+|just\s+|finally\s+)?(?:decided|agreed)\b"
    r"|\b(?:it's|it\s+is|that's|that\s+is)\s+(?:decided|agreed|settled|final)\b"
    r"|\bdecided\s+(?:to|on|that)\b|\bagreed\s+(?:to|on|that)\b"
    r"|\b(?:the\s+)?(?:final\s+)?decision\s+(?:is|was)\b|\bfinal\s+decision\b"
    r"|\blet's\s+go\s+with\b|\bwe(?:'ll|\s+will)\s+go\s+with\b"
    r"|\b(?:we're|we\s+are)\s+going\s+(?:to\s+go\s+)?with\b"
    r"|\bapproved\b|\bsettled\s+on\b|\bsigned\s+off\b|\bgreen[- ]?lit\b"
    r"|\b(?:reached|have|there's)\s+(?:a\s+)?consensus\b|\bconsensus\s+is\b"
    r"|决定|确定了|已确定|已经确定|最终确定|最后确定|确定由|确定为|确定在|确定是|确定用|确定下来|确定用|确定采用|确认了|就这么定|就这样定"
    r"|定了|定下来|敲定|拍板|达成一致|达成共识|同意|批准|通过了|已通过|已经通过|审批通过"
    r"|一致通过|投票通过|最终方案|就按|那就用|决议",
    _I,
)
_NOT_DECIDED = re.compile(
    r"\b(?:not|\w+n't|never|yet\s+to|need\s+to|needs\s+to|have\s+to|has\s+to|should|whether"
    r"|if|pending|until|unless|before\s+we|once|when|to\s+be|get|gets|be)\s+"
    r"(?:\w+\s+){0,2}(?:decid|agree|approv|settl|sign)"
    r"|\bundecided\b|\btbd\b|\bto\s+be\s+(?:decided|determined|confirmed)\b"
    r"|(?:没|未|还没|尚未|不|无法|能否|是否|待)\w{0,2}(?:决定|确定|定|同意|通过|批准|敲定)"
    r"|待定|未定|决定权|决定一下|确定一下|需要确定|要确定|再确定|再定"
    r"|(?:要|得|需要|必须|应该|尽快|争取)\w{0,3}?(?:定下来|定一下|敲定|拍板)",
    _I,
)
_QUESTION = re.compile(r"[?？]\W*$|[吗么呢]\W*$")


def is_question(sentence: str) -> bool:
    return bool(_QUESTION.search(sentence.strip()))


def is_decision(sentence: str) -> bool:
    """A statement that records something decided ("we agreed", "决定", "通过了")."""
    return (
        not is_question(sentence)
        and bool(_DECISION.search(sentence))
        and not _NOT_DECIDED.search(sentence)
    )


# ---------------------------------------------------------------- action items


class OwnerKind(enum.Enum):
    SELF = "self"  # "I'll …", "我来…": the speaker owns it
    NAMED = "named"  # "Alice, can you …", "张三负责…": the person named owns it
    YOU = "you"  # "Can you …" with no name: whoever accepts it
    GROUP = "group"  # "Everyone, please …", "大家请…": all participants
    GENERIC = "generic"  # "please …", "待办", "by Friday": the speaker, unless a name is said


@dataclass(frozen=True)
class ActionCue:
    kind: OwnerKind
    owner: str = ""  # the name said, for NAMED


# When, said between "我" and the verb it promises: "我明天把…", "我周末整理…".
_ZH_WHEN = (
    r"(?:今天|明天|后天|今晚|明早|下午|上午|晚上|下周[一二三四五六日]?"
    r"|这周[一二三四五六日末内]?|周[一二三四五六日末]|月底前?|马上|尽快|先|稍后|回头|晚点|这两天|会后)(?:之前|前)?"
    r"(?:就|再|先)?"
)
_SELF = re.compile(
    r"\bI'll\b|\bI\s+will\b|\bI'm\s+(?:going\s+to|gonna)\b|\bI\s+am\s+going\s+to\b"
    r"|\bI\s+can\s+(?:take|do|handle|own|send|write|prepare|draft|follow|look|check)\b"
    r"|\blet\s+me\s+(?:check|follow|look|find|send|get|draft|prepare|ask|take|handle|set"
    r"|schedule|write|update|sync|reach|circle|confirm|book)\b"
    r"|\bI(?:'ve|\s+have)\s+got\s+(?:it|this)\b|\bI'm\s+on\s+it\b|\bI\s+volunteer\b"
    r"|\bI\s+(?:need|have)\s+to\b|\bleave\s+it\s+(?:to|with)\s+me\b"
    rf"|我(?:{_ZH_WHEN})?(?:来|会|去|负责|把|跟进|整理|准备|安排|联系|处理|提交|申请|修|写|发"
    r"|找|问|打|做)"
    r"|我这边(?:来|会|负责|跟进|处理)|交给我|我跟进|我回头|我整理|我准备"
    r"|我安排|我联系|我处理|我把|我马上|我尽快",
    _I,
)
# First-person phrases that run the meeting rather than promise work.
_MEETING_ACT = re.compile(
    r"\b(?:I'll|I\s+will|let\s+me|I'm\s+going\s+to)\s+(?:just\s+|quickly\s+)?(?:share\s+my"
    r"\s+screen|start\s+(?:with|by|off)|kick\s+off|begin|be\s+(?:honest|quick|brief)|say|admit"
    r"|explain|walk\s+you|hand\s+(?:it\s+)?over|pass\s+(?:it\s+)?(?:over|to|on)|stop\s+sharing"
    r"|repeat|summari[sz]e|recap|go\s+first|introduce|see\s+you|talk\s+to\s+you|let\s+you"
    r"|leave\s+it\s+there|try\s+to\s+be|think)\b"
    r"|我来(?:说|讲|介绍|汇报|总结|补充|解释|回答|主持|开始|分享|自)|我会议|我会说|我去年"
    r"|我觉得|我把话",
    _I,
)
_REQUEST_YOU = re.compile(
    r"\b(?:can|could|would|will)\s+you\b|\bcan\s+I\s+ask\s+you\b|\byou\s+(?:need|have)\s+to\b"
    r"|\byou\s+should\b|\bmake\s+sure\s+you\b"
    r"|你来|你去|你负责|你这边|你跟进|你(?:能不能|能否|可不可以|可以|能)|麻烦你|辛苦你",
    _I,
)
_REQUEST_GENERIC = re.compile(
    r"\bplease\b|\bmake\s+sure\b|\b(?:we|someone|somebody)\s+(?:really\s+|still\s+|also\s+)?"
    r"(?:needs?|have|has)\s+to\b|\bneeds\s+to\b|\baction\s+items?\b|\bto[- ]?dos?\b"
    r"|\bfollow[- ]up\b|\btake\s+care\s+of\b|\bresponsible\s+for\b|\bin\s+charge\s+of\b"
    r"|\bassign(?:ed)?\s+to\b|\bdeadline\b"
    r"|待办|负责|跟进|(?<![申邀聘宴提])请(?![问假教求示])|麻烦|截止|之前完成|落实|务必|记得"
    r"|需要\w{0,12}完成|推进",
    _I,
)
_GROUP = re.compile(
    r"^(?:everyone|everybody|all|team|folks|guys)\b[,\s]"
    r"|\b(?:everyone|everybody|all\s+of\s+you)\s*,?\s+please\b"
    r"|\bplease\s*,?\s+(?:everyone|everybody|all\s+of\s+you)\b"
    r"|\b(?:everyone|everybody)\s+(?:needs?|should|has)\s+to\b"
    rf"|(?:大家|各位|所有人)都?(?:{_ZH_WHEN})?(?:请|需要|要|记得|务必|把|在)|请(?:大家|各位|所有人)",
    _I,
)
_REQUEST_QUESTION = re.compile(
    r"\b(?:can|could|would|will)\s+you\b|你(?:能不能|能否|可不可以|可以|能)|能否|麻烦", _I
)


def action_cue(sentence: str, names: NameBook, *, has_deadline: bool) -> ActionCue | None:
    """How a sentence asks for or promises work, or None when it does not.

    The earliest cue decides who owns it: in "I'll ask Bob to check" the speaker
    promises; in "Bob, can you check? I'll review" Bob is asked. A stated deadline
    ("by Friday", "周五前") makes a statement an action item on its own.
    """
    if is_question(sentence) and not _REQUEST_QUESTION.search(sentence):
        return None
    named = names.addressed(sentence)
    found: list[tuple[int, ActionCue]] = []
    if named is not None:
        found.append((named[0], ActionCue(OwnerKind.NAMED, named[1])))
    self_match = _SELF.search(sentence)
    if self_match and not _MEETING_ACT.search(sentence):
        found.append((self_match.start(), ActionCue(OwnerKind.SELF)))
    you = _REQUEST_YOU.search(sentence)
    if you:
        found.append((you.start(), ActionCue(OwnerKind.YOU)))
    group = _GROUP.search(sentence)
    if group:
        found.append((group.start(), ActionCue(OwnerKind.GROUP)))
    if found:
        return min(found, key=lambda f: f[0])[1]
    if _REQUEST_GENERIC.search(sentence) or has_deadline:
        return ActionCue(OwnerKind.GENERIC)
    return None


_ACK = re.compile(
    r"^\W*(?:sure|yes|yeah|yep|ok(?:ay)?|will\s+do|no\s+problem|got\s+it|on\s+it|absolutely"
    r"|of\s+course|sounds\s+good|I\s+can|I'll|I\s+will|happy\s+to)\b"
    r"|^\W*(?:好|行|可以|没问题|收到|明白|嗯|没有问题|我来|我会|OK)",
    _I,
)


def is_acknowledgement(text: str) -> bool:
    """Whether a reply accepts a request ("Sure, …", "好的，…")."""
    return bool(_ACK.search(text))


# ---------------------------------------------------------------- names

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾"
    "丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱"
    "汤尹黎易常武乔贺赖龚文"
)
_COMPOUND_SURNAMES = "欧阳|司马|诸葛|上官|东方|慕容|令狐|司徒|皇甫"
_ZH_NAME = (
    rf"(?:[小老][{_SURNAMES}]|(?:{_COMPOUND_SURNAMES})[\u4e00-\u9fff]{{1,2}}?"
    rf"|[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}?)"
)
# Words that look like "surname + given name" but are ordinary vocabulary.
_NOT_ZH_NAMES = re.compile(
    r"^(?:周[一二三四五六日天末报会期]|马上|高度|高效|高层|高兴|方便|方面|方案|方向|方式|方法|文档"
    r"|文件|文字|文案|金额|白天|明白|常规|万一|于是|石头|许多|许可|程序|程度|曾经|任务|任何|任意"
    r"|安排|安全|史上|易于|余额|向前|龙头|陆续|钱包|江湖|黄金|林业|毛病|段落|孔子|康复|武器"
    r"|乔迁|贺卡|雷达|夏天|叶子|顾客|顾问|邵|孟|尹|谢谢|谢了|田地|姜|范围|姚|潘|汤|黎明|朱|蔡)$"
)
# Chinese ASR output often has spaces between words ("李强 你 来 跟进"), hence the \s*.
_ZH_AFTER = (
    r"(?=\s*(?:负责|来|跟进|去|把|做|写|发|整理|准备|处理|确认|联系|看|查|更新|修|提交"
    r"|完成|尽快|明天|今天|下周|周|在|，|,|。|同学|老师|总|帮|给|和|跟|再|先|也|会|要|需要|安排|牵头"
    r"|对接|推进|评估|调研|测试|部署|你))"
)
_ZH_ASSIGN = re.compile(rf"(?:由|请|让|麻烦|交给|安排|拜托|叫)\s*(?P<name>{_ZH_NAME}){_ZH_AFTER}")
_ZH_SUBJECT = re.compile(
    rf"(?:^|[，。！？；、\s：:,])(?P<name>{_ZH_NAME})"
    r"(?=\s*(?:负责|来|跟进|去|这边|会|要|需要|把|请|[，,]\s*你|你|同学|老师))(?!\s*负责人)"
)

_EN_NAME = r"[A-Z][a-z]+(?:\s[A-Z][a-z]+)?"
_EN_VERBS = (
    r"follow|send|draft|prepare|write|update|check|review|schedule|share|book|set|fix"
    r"|finish|own|take|look|reach|contact|talk|create|run|test|deploy|sign|handle|loop"
)
_EN_ASSIGN = [
    re.compile(
        rf"^(?:(?i:ok(?:ay)?|so|and|also|then|um|uh|alright)[,\s]+)?(?P<name>{_EN_NAME}),"
        r"\s+(?i:can|could|would|will|please|you|make\s+sure|take|I\s+need\s+you)\b"
    ),
    re.compile(
        rf"(?i:action\s+items?\s+(?:for|on)|assign(?:ed)?\s+(?:it\s+|this\s+)?to"
        rf"|owned\s+by|over\s+to)\s+(?P<name>{_EN_NAME})\b"
    ),
    re.compile(
        rf"\b(?P<name>{_EN_NAME})(?:'ll|\s+(?i:will|is\s+going\s+to|is\s+gonna|needs\s+to"
        rf"|has\s+to|should|is\s+on|is\s+responsible|owns|takes|to\s+(?:{_EN_VERBS}))\b)"
    ),
]
# Capitalised words that start sentences or name things, never a person.
_NOT_EN_NAMES_TEXT = """
    ok okay so well yes no yeah right also and then great thanks thank sure alright now
    hey hi hello everyone guys team folks please can could would will that this it we you they
    he she i let lets but or if when what who why how which there here next last the a an
    our my your their all both each maybe just actually engineering marketing sales design
    product finance legal support ops qa monday tuesday wednesday thursday friday saturday
    sunday january february march april may june july august september october november
    december today tomorrow action"""
_NOT_EN_NAMES = frozenset(_NOT_EN_NAMES_TEXT.split())


class NameBook:
    """The meeting's people: mapped speaker names and the short forms used to address them.

    A name said in a sentence resolves to the full mapped name when it matches one
    ("Alice" → "Alice Chen", "小王" → "王芳" when only one speaker is a 王).
    """

    def __init__(self, display_names: Iterable[str]) -> None:
        aliases: dict[str, str] = {}
        surname_count: dict[str, int] = {}
        names = list(dict.fromkeys(n.strip() for n in display_names if n.strip()))
        for name in names:
            if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name):
                surname_count[name[0]] = surname_count.get(name[0], 0) + 1
        for name in names:
            aliases.setdefault(name, name)
            first = name.split()[0]
            if first != name and first[:1].isupper() and len(first) > 1:
                aliases.setdefault(first, name)
            if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name) and surname_count[name[0]] == 1:
                aliases.setdefault("小" + name[0], name)
                aliases.setdefault("老" + name[0], name)
                if len(name) == 3:
                    aliases.setdefault(name[1:], name)
        self._aliases = aliases
        ordered = sorted(aliases, key=lambda a: (-len(a), a))
        self._known = re.compile("|".join(re.escape(a) for a in ordered)) if ordered else None

    def resolve(self, said: str) -> str:
        """The full name for a name as said, or the name as said when it is no speaker's."""
        return self._aliases.get(said, said)

    def addressed(self, sentence: str) -> tuple[int, str] | None:
        """(position, full name) of the person asked to do something, if one is named."""
        hits: list[tuple[int, str]] = []
        for pattern in (*_EN_ASSIGN, _ZH_ASSIGN, _ZH_SUBJECT):
            for m in pattern.finditer(sentence):
                name = self._plausible(m.group("name"))
                if name:
                    hits.append((m.start("name"), name))
                    break
        if self._known is not None:
            for m in self._known.finditer(sentence):
                if _AFTER_KNOWN.match(sentence, m.end()):
                    hits.append((m.start(), self._aliases[m.group()]))
        return min(hits) if hits else None

    def _plausible(self, said: str) -> str:
        if said in self._aliases:
            return self._aliases[said]
        first = said.split()[0]
        if first in self._aliases:
            return self._aliases[first]
        if first.lower() in _NOT_EN_NAMES or _NOT_ZH_NAMES.match(said):
            return ""
        return said


# ---------------------------------------------------------------- cleaning

_AFTER_KNOWN = re.compile(
    r"\s*(?:负责|来(?!自)|跟进|请|[，,]?\s*你|,\s*(?:can|could|would|please)\b|'ll\b"
    r"|\s(?:will|is\s+going\s+to|to)\s)"
)

_LEADING_FILLER = re.compile(
    r"^(?:(?:so|okay|ok|well|um+|uh+|alright|all\s+right|right|yeah|and|anyway)\b[,.]?\s*)+"
    r"|^(?:(?:嗯+|呃+|啊+)[，,、\s]*|(?:那个|就是|然后|好的?|好吧|那|对|是的|可以|行|没问题|OK)"
    r"[，,、\s]\s*)+",
    _I,
)
# A hesitation takes the commas around it along: "I'll, uh, send" → "I'll send".
_INLINE_FILLER = re.compile(r"(?:\s*,)?\s*\b(?:um+|uh+|erm|uhm)\b\s*,?", _I)
_ZH_INLINE_FILLER = re.compile(r"(?<=[，,])\s*(?:嗯|呃)[，,]?")


def clean_sentence(sentence: str) -> str:
    """The sentence without hesitations and leading discourse markers ("So, um, …")."""
    text = _ZH_INLINE_FILLER.sub("", _INLINE_FILLER.sub(" ", sentence))
    text = re.sub(r"\s+([,.!?;:])", r"\1", " ".join(text.split()))
    stripped = _LEADING_FILLER.sub("", text).strip()
    if len(stripped) < 2:
        return text
    if stripped[0].islower() and sentence.lstrip()[:1].isupper():
        stripped = stripped[0].upper() + stripped[1:]
    return stripped
