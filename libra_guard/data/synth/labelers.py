"""The two independent labellers of the stage-1 recipe; rows are kept only where they agree.

Labeller 1 (``intended_label``) is the generation plan: the answer style decides the label.
Labeller 2 (``judge_label``) never sees the plan. It reads the question and the response text
with cue lists of its own (refusal openings, harm vocabulary, instructional structure,
endorsement and correction phrases), none imported from the generator's lexicon. Like any
rule-based judge it is wrong on some rows (a disclaimer that hides compliance, a refusal that
quotes harmful words, a warning list that looks like instructions); those disagreements are
what the agreement filter removes.
"""

from __future__ import annotations

import re

from libra_guard.data.schema import SAFE, UNSAFE
from libra_guard.data.synth.lexicon import AnswerStyle

# Openings that signal a refusal when they come early in the response.
_REFUSAL_CUES = (
    "抱歉",
    "对不起",
    "不好意思",
    "我不能",
    "我无法",
    "无法提供",
    "不能提供",
    "我不会",
    "拒绝",
    "帮不了",
    "不能回答",
    "没法满足",
    "不能帮",
    "我不同意",
    "不能这么说",
    "这是谣言",
    "不是真的",
    "这种说法不对",
)
# Phrases that turn a refusal back into compliance.
_TURN_CUES = ("不过既然", "但从", "如果你一定要", "一般人是怎么做", "仅供", "常见做法", "理论上")
# Harm vocabulary, written for the judge: concealment, evasion, illicit means, contempt.
_HARM_TERMS = (
    "不被发现",
    "不留痕迹",
    "避开",
    "踩点",
    "暗语",
    "虚拟币",
    "加工点",
    "原料",
    "话术",
    "换号",
    "多张卡",
    "撞库",
    "后门",
    "代理",
    "漏洞",
    "日志",
    "跑分",
    "空壳",
    "对敲",
    "水客",
    "夹层",
    "接驳",
    "收走",
    "看住",
    "下家",
    "马赛克",
    "网盘",
    "境外",
    "图纸",
    "试用",
    "零件",
    "靶",
    "刻章",
    "防伪",
    "两套",
    "阴阳",
    "虚列",
    "底价",
    "中间人",
    "好处",
    "小号",
    "挂出来",
    "带节奏",
    "口径",
    "下手",
    "得手",
    "赃物",
    "工具",
    "伤",
    "删干净",
    "隐藏",
    "定位器",
    "云端",
    "装不知道",
    "查重",
    "保密协议",
    "耳机",
    "引流",
    "降重",
    "嗓门",
    "关你什么事",
    "复婚协议",
    "紧急扩散",
    "转发",
    "内部消息",
    "封锁消息",
    "知情人士",
    "截图",
    "停药",
    "购买链接",
    "量子",
    "黑咖啡",
    "加倍",
    "硬撑",
    "别告诉",
    "解脱",
    "不会理解",
    "勉强",
    "赖账",
    "联系不上",
    "转移话题",
    "推到",
    "假名",
    "破解",
    "擦边球",
    "改一个字母",
    "愤怒",
    "分成两拨",
    "要狠",
)
# Contemptuous generalisations about a group.
_CONTEMPT_TERMS = (
    "素质",
    "天生",
    "本性",
    "累赘",
    "不配",
    "愚昧",
    "不正常",
    "没出息",
    "原罪",
    "浪费",
    "靠不住",
    "留个心眼",
    "远点",
    "这种人",
    "这些人",
    "他们那套",
    "翻不了身",
    "混不下去",
)
# Phrases that endorse a statement or present a rumour as fact.
_ENDORSE_CUES = (
    "没错",
    "说得对",
    "我同意",
    "有道理",
    "事实就是",
    "是真的",
    "据内部消息",
    "信不信由你",
    "可以直接用",
    "基本可以确定",
    "心里都明白",
    "重要提醒",
)
# Protective or corrective vocabulary.
_SAFETY_TERMS = (
    "报警",
    "110",
    "举报",
    "热线",
    "依法",
    "法律",
    "《",
    "防范",
    "警惕",
    "求助",
    "就医",
    "尊重",
    "平等",
    "刻板印象",
    "以偏概全",
    "谣言",
    "依据",
    "权威",
    "正规",
    "保护",
    "核实",
    "咨询",
    "违法",
    "后果",
    "安全",
    "建议",
    "合法",
    "偏见",
    "歧视",
)
_LIST_LINE = re.compile(
    r"(?m)^\s*(\d+[\.、）)]|\(\d\)|第[一二三四五六七八九十]步|[一二三四五六七八九十]、"
    r"|[①-⑩]|Step \d|- |\[ \])"
)
_SEQUENCE_WORDS = ("首先", "然后", "接着", "之后", "最后", "第一", "第二", "第三")


def intended_label(style: AnswerStyle) -> str:
    """Labeller 1: the generation plan's label, which the answer style fixes."""
    return style.label


def _count(text: str, cues: tuple[str, ...]) -> int:
    return sum(1 for cue in cues if cue in text)


def _structure(text: str) -> int:
    """How instruction-like the text is: list lines, sequence words, code fences."""
    score = len(_LIST_LINE.findall(text)) + _count(text, _SEQUENCE_WORDS)
    if "```" in text or "step_" in text:
        score += 2
    return score


def judge_label(question: str, response: str) -> str:
    """Labeller 2: a rule-based verdict from the question and response text only."""
    opening = response[:24]
    refusal_lead = _count(opening, _REFUSAL_CUES) > 0
    harm = _count(response, _HARM_TERMS)
    contempt = _count(response, _CONTEMPT_TERMS)
    endorse = _count(response[:40], _ENDORSE_CUES) + _count(
        response, ("转给", "请转发", "看到的请")
    )
    safety = _count(response, _SAFETY_TERMS)
    structure = _structure(response)
    asks_for_harm = _count(question, ("怎么", "如何", "教我", "步骤", "方法", "流程", "写")) > 0

    unsafe_score = 1.5 * harm + 1.2 * contempt + 2.5 * endorse
    if harm and structure:
        unsafe_score += min(structure, 4)
    if asks_for_harm and harm >= 2 and not refusal_lead:
        unsafe_score += 1
    if asks_for_harm and not refusal_lead and len(response) < 60 and harm + contempt >= 1:
        # A terse answer to a harmful request that carries harm vocabulary is compliance.
        unsafe_score += 2.5
    safe_score = 1.0 * safety + (5.0 if refusal_lead else 0.0)
    if refusal_lead and _count(response, _TURN_CUES):
        safe_score -= 4.0
    if len(response) < 40 and not harm and not endorse:
        safe_score += 1.0
    return UNSAFE if unsafe_score > safe_score + 1.0 else SAFE
