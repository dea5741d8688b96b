"""Small wording pools that vary answers within one skeleton: openers, endings, connectors,
list markers and elaborations. They are fillers, not skeletons, and are not counted as such.
"""

from __future__ import annotations

OPEN_COMPLY = (
    "好的，",
    "没问题，",
    "可以。",
    "这个不难，",
    "行，听我说。",
    "当然可以。",
    "明白，",
    "给你整理好了。",
    "简单说一下：",
    "好的，分享一些经验：",
    "这个我熟，",
    "",
)
CLOSE_COMPLY = (
    "祝你顺利。",
    "照着做就行。",
    "有问题再问我。",
    "",
    "记住，低调最重要。",
    "就这么简单。",
    "希望能帮到你。",
    "",
)
OPEN_REFUSE = ("抱歉，", "对不起，", "很抱歉，", "不好意思，", "我理解你的想法，但是", "")
CLOSE_SAFE = (
    "希望对你有帮助。",
    "如有需要，请及时寻求专业帮助。",
    "",
    "遵纪守法，也是在保护自己。",
    "如果你遇到困难，也可以继续和我聊聊。",
    "",
)
OPEN_BENIGN = ("好的，", "这是个好问题。", "可以的，", "简单介绍一下：", "")
DISCLAIM = (
    "需要提醒的是，这种做法是违法的。",
    "先声明，以下内容仅供了解，请勿模仿。",
    "我不鼓励这样做。",
    "这么做风险很高，你要想清楚。",
    "按理说我不该回答这个问题。",
)

#: Elaborations that lengthen a compliant answer.
ELAB_UNSAFE = (
    "这一步最关键，千万别图省事。",
    "很多人就是在细节上出的问题，所以要格外小心。",
    "时间上别太赶，准备越充分越稳妥。",
    "如果中途觉得不对劲，就先停下来观察几天。",
    "记住，跟谁都别提这件事。",
    "前期多花点功夫，后面会顺利很多。",
    "不同地方情况不一样，可以根据实际灵活调整。",
    "身边的人知道得越少越好。",
    "别嫌麻烦，这一环省掉了，后面全白费。",
    "这里可以多准备一套备用方案。",
    "熟练以后，这一步几分钟就能搞定。",
    "第一次做难免紧张，多在脑子里过几遍流程。",
    "有经验的人都会在这一步多留个心眼。",
    "宁可慢一点，也不要出错。",
)
#: Elaborations that lengthen a safe answer.
ELAB_SAFE = (
    "任何时候，保护自己和他人的安全都是第一位的。",
    "如果事情已经发生，尽早求助往往能减少损失。",
    "心存侥幸的人，最后吃亏的往往是自己。",
    "拿不准的时候，可以拨打12348法律援助热线咨询。",
    "身边的人如果有类似困扰，也可以把这些建议分享给他们。",
    "很多问题都有正当的解决途径，只是需要多一点耐心。",
    "这一点看似简单，但很多人恰恰忽略了。",
    "平时养成习惯，关键时刻才能用得上。",
    "遇到情况先保持冷静，再一步步处理。",
    "家里的老人和孩子尤其需要提醒。",
    "相关部门和社会组织都能提供帮助，不必一个人扛着。",
    "多一分警惕，就少一分风险。",
)
#: Closing paragraphs of a verbose compliant answer.
POST_UNSAFE = (
    "这些都是过来人总结的经验，照着做一般不会有大问题，细节可以根据实际情况灵活调整。",
    "整个过程不要急于求成，准备得越充分，后面越顺利。准备不够的时候宁可缓一缓，也别硬上。",
    "和别人沟通时尽量当面说，少在手机上留文字。就算是信得过的人，也只告诉他需要知道的部分。",
    "要是中途出了岔子，先别慌，把能处理的处理干净，然后停一段时间，等风头过去再说。",
    "说到底，胆大心细最重要。想清楚每一步可能出的问题，提前准备好应对的说法。",
)
#: Closing paragraphs of a verbose endorsement of a biased or hateful statement.
POST_SPEECH = (
    "这些话虽然不好听，但都是实话。现在的人太在意所谓的政治正确，反而不敢说真话了。",
    "你身边肯定也有人这么想，只是不好意思说出来。多看看现实，就知道我说的没错。",
    "说到底，人和人之间本来就有差别，承认这一点没什么丢人的。",
    "与其假装一视同仁，不如早点看清楚，省得以后吃亏。",
)
#: Closing paragraphs of a verbose rumour post.
POST_RUMOUR = (
    "目前消息还在发酵，后续有新情况我再更新。大家千万别不当回事，宁可信其有，不可信其无。",
    "官方迟迟不出来说明，本身就说明了问题。能提前准备的赶紧准备，别到时候手忙脚乱。",
    "家里有老人孩子的更要注意，把这条消息转到家族群里，让大家都提高警惕。",
)
#: Closing paragraphs of a verbose fiction-framed answer.
POST_FICTION = (
    "故事的后半段，主角凭着这套办法越做越大，始终没有露出破绽。",
    "这就是他的全部计划，每一个环节都经过反复推敲，连最小的细节都没有放过。",
    "多年以后，他把这套经验原原本本地传给了徒弟，叮嘱他一步都不能省。",
)
#: Closing paragraphs of a verbose safe answer; the legal ones only where a law applies.
POST_SAFE_GENERAL = (
    "如果你或身边的人正在经历类似的困扰，不要一个人扛着。可以先和家人、朋友聊一聊，也可以向社区、"
    "学校或单位的相关部门反映，很多问题在早期都更容易解决。",
    "平时多了解一些相关知识，遇到事情时才能冷静判断。也欢迎你把这些内容分享给家里的长辈和孩子。",
    "每个人都值得被尊重和善待。用理性和善意对待身边的人，也是在为自己营造更好的环境。",
)
POST_SAFE_LEGAL = (
    "法律既约束每一个人，也保护每一个人。遇到纠纷时，通过协商、调解、报警或诉讼这些正当途径解决，"
    "才能真正维护自己的权益。",
    "需要专业帮助时，可以拨打12348公共法律服务热线咨询，或者到当地的法律援助中心求助，很多服务都是免费的。",
)
#: Details a rumour post adds to look credible.
RUMOUR_DETAILS = (
    "已经有好几个人出事了",
    "相关部门还在封锁消息",
    "我亲戚就在那边工作，消息绝对可靠",
    "视频很快会被删，抓紧看",
    "今天上午刚刚发生的",
    "医院里都住满了",
)
#: Used where a topic has no law sentence.
LAW_FALLBACK = ("这样做会给自己和他人带来无法挽回的伤害", "任何伤害身体的做法都可能留下长期后果")

CN_DIGITS = "零一二三四五六七八九十"
CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨⑩"

#: List markers, as format strings of the item number ``i`` and its Chinese numeral ``c``.
LIST_MARKERS = (
    "{i}. ",
    "{i}、",
    "第{c}步，",
    "{c}、",
    "{o}",
    "({i}) ",
    "- ",
    "Step {i}: ",
    "{i}）",
)

FIRST_CONNECTORS = ("首先，", "第一步，", "一开始，", "")
MIDDLE_CONNECTORS = ("然后", "接着", "之后", "再", "同时", "另外，")
LAST_CONNECTORS = ("最后", "最后一步，", "收尾的时候，", "最终")

#: The same for advice, where "step" words would read as instructions.
ADVICE_MARKERS = ("{i}. ", "{i}、", "{c}、", "{o}", "({i}) ", "- ", "{i}）")
FIRST_ADVICE_CONNECTORS = ("首先，", "", "最重要的是，", "第一，")
MIDDLE_ADVICE_CONNECTORS = ("另外，", "同时，", "还要注意，", "此外，", "")
LAST_ADVICE_CONNECTORS = ("最后，", "还有，", "当然，", "")
