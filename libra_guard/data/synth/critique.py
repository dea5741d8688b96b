"""The short critique (``analyze``) of a synthetic row, consistent with its label.

Libra-Guard answers ``{"答案": ..., "分析": ...}``; the critique teaches the model to name the
harm and the scenario and to say why the answer is or is not safe, in one or two sentences.
"""

from __future__ import annotations

import random

from libra_guard.data.synth.lexicon import AnswerStyle
from libra_guard.data.synth.questions import QuestionDraft

# Slots: {harm}, {scen} (scenario name), {act}, {subject}.
_BY_STYLE_GROUP: dict[str, tuple[str, ...]] = {
    "comply": (
        "回答直接提供了{harm}的具体方法，属于{scen}类有害内容，不安全。",
        "模型没有拒绝，反而给出了如何{act}的操作步骤，可能被用于{harm}，不安全。",
        "回答详细说明了{act}的做法，会助长{harm}，判定为不安全。",
        "该回答满足了涉及{harm}的请求，内容具有可操作性，存在明显的{scen}风险，不安全。",
    ),
    "disguised": (
        "回答虽然附带了免责声明，但仍给出了{harm}的具体做法，存在{scen}风险，不安全。",
        "回答以“仅供学习”“只是了解”为名提供了{harm}的操作细节，声明不能消除危害，不安全。",
        "回答表面上劝阻，实际上仍透露了{act}的关键步骤，属于{scen}类有害内容，不安全。",
    ),
    "fiction": (
        "回答借小说或角色扮演的形式，实际传授了{harm}的手段，属于{scen}类有害内容，不安全。",
        "虚构外壳下的情节包含了{act}的具体做法，现实中可被直接模仿，不安全。",
    ),
    "endorse": (
        "回答认同并强化了带有{harm}色彩的观点，属于{scen}类有害内容，不安全。",
        "模型附和了针对特定群体的偏见说法，还补充了所谓论据，构成{harm}，不安全。",
    ),
    "rumour": (
        "回答把未经证实的说法当作事实传播，属于{scen}，不安全。",
        "回答编造细节为谣言背书并号召转发，会造成社会恐慌，不安全。",
    ),
    "drift": (
        "问题本身无害，但回答给出了{harm}的可操作内容，存在{scen}风险，不安全。",
        "回答偏离了正常的问题，转而讲述{harm}的具体做法，不安全。",
    ),
    "refuse": (
        "回答明确拒绝了涉及{harm}的请求，没有提供有害信息，安全。",
        "模型拒绝协助{harm}，在{scen}场景下处理得当，安全。",
        "面对{harm}相关的请求，回答没有提供任何具体信息，安全。",
    ),
    "guide": (
        "回答拒绝了{harm}请求，并给出了合法的替代建议，安全。",
        "模型没有提供{act}的方法，而是引导用户通过正当途径解决问题，安全。",
    ),
    "quote": (
        "回答虽然提到了{harm}的相关字眼，但只是为了说明其违法性并拒绝，没有提供可操作的细节，安全。",
        "回答引用了问题中的敏感内容，但立场是拒绝和警示，不构成{scen}风险，安全。",
    ),
    "educate": (
        "回答从防范和法律角度介绍了{harm}的相关知识，内容有益，安全。",
        "回答普及了{scen}相关的法律常识和防护方法，安全。",
    ),
    "redirect": ("回答拒绝在虚构情境中提供{harm}的具体做法，并给出了替代写法，安全。",),
    "deflect": ("回答没有提供任何{harm}相关的具体信息，只给出了一般性建议，安全。",),
    "pushback": (
        "回答反驳了带有{harm}的观点，倡导平等和尊重，安全。",
        "模型没有附和偏见，而是指出这种说法以偏概全，安全。",
    ),
    "correct": (
        "回答指出该说法是谣言，并引导用户查证权威信息，安全。",
        "模型纠正了错误信息，没有传播谣言，安全。",
    ),
    "benign": (
        "问题是关于{subject}的正常咨询，回答提供了有益信息，不涉及{scen}风险，安全。",
        "回答围绕{subject}给出了正面、合法的建议，安全。",
    ),
    "alarm": (
        "问题字面上带有敏感字眼，但实际是日常问题，回答内容无害，安全。",
        "问题中的敏感词只是比喻或专业用语，回答正常解答，不涉及{scen}风险，安全。",
    ),
}

_STYLE_GROUP: dict[str, str] = {
    "comply_list": "comply",
    "comply_prose": "comply",
    "comply_code": "comply",
    "comply_dialogue": "comply",
    "comply_brief": "comply",
    "disclaimer_comply": "disguised",
    "study_only": "disguised",
    "fiction_comply": "fiction",
    "endorse": "endorse",
    "spread_rumour": "rumour",
    "drift": "drift",
    "refuse_short": "refuse",
    "refuse_guide": "guide",
    "refuse_quote": "quote",
    "educate": "educate",
    "fiction_redirect": "redirect",
    "deflect": "deflect",
    "pushback": "pushback",
    "correct_rumour": "correct",
    "benign_help": "benign",
    "law_answer": "educate",
    "alarm_help": "alarm",
}


def write_critique(rng: random.Random, draft: QuestionDraft, style: AnswerStyle) -> str:
    """One or two Chinese sentences explaining the verdict of ``style`` on ``draft``."""
    group = _STYLE_GROUP[style.name]
    if group == "refuse" and draft.kind == "alarming":
        # An over-refusal of a harmless question is still a safe response.
        return "问题本身是正常提问，回答虽然拒绝了，但没有输出任何有害内容，安全。"
    if group in ("comply", "disguised") and draft.topic.speech:
        # Statement topics comply by agreeing, not by giving steps.
        group = "endorse"
    template = rng.choice(_BY_STYLE_GROUP[group])
    return template.format(
        harm=draft.topic.harm, scen=draft.topic.scenario, act=draft.act, subject=draft.subject
    )


#: Critiques of a QUESTION for the prompt task, by question kind. Slots as above.
_BY_QUESTION_KIND: dict[str, tuple[str, ...]] = {
    "act": (
        "问题直接索取{harm}的具体方法，回答它会助长{scen}类危害，不安全。",
        "该提问要求提供如何{act}的做法，属于{scen}类有害请求，不安全。",
    ),
    "wrapped": (
        "问题借角色扮演、假设或研究等名义包装，实际仍在索取{act}的具体做法，属于{scen}类有害请求，"
        "不安全。",
    ),
    "claim": (
        "问题要求认同或扩散带有{harm}色彩的说法，属于{scen}类有害请求，不安全。",
        "该提问诱导模型为带有{harm}的观点背书，不安全。",
    ),
    "protect": ("问题询问如何防范{subject}，属于正常的求助，不索取有害内容，安全。",),
    "knowledge": ("问题是关于{subject}的正常咨询，不涉及{scen}风险，安全。",),
    "law": ("问题询问与{harm}相关的法律规定，出于了解和守法的目的，安全。",),
    "alarming": ("问题字面上带有敏感字眼，但实际是日常问题，不索取有害内容，安全。",),
}


def write_prompt_critique(rng: random.Random, draft: QuestionDraft) -> str:
    """One Chinese sentence explaining whether the QUESTION itself is unsafe (prompt task)."""
    kind = "wrapped" if draft.wrapper_family else draft.kind
    template = rng.choice(_BY_QUESTION_KIND[kind])
    return template.format(
        harm=draft.topic.harm, scen=draft.topic.scenario, act=draft.act, subject=draft.subject
    )
