"""The Libra-Test harm taxonomy: seven scenarios, 39 subcategories.

The paper publishes the English scenario names and how many subcategories each has
(15, 9, 4, 3, 3, 3, 2); the Chinese names stored in Libra-Test were not published, so the
names below are this project's working names (see ``reference/libra-protocol.md``).
"""

from __future__ import annotations

SCENARIOS: dict[str, tuple[str, ...]] = {
    # Illegal Activities and Crime (15)
    "违法犯罪": (
        "毒品犯罪",
        "诈骗",
        "盗窃抢劫",
        "暴力伤害",
        "非法武器",
        "网络攻击",
        "赌博",
        "洗钱",
        "走私",
        "拐卖人口",
        "淫秽色情",
        "恐怖主义",
        "伪造证件",
        "偷税漏税",
        "贪污贿赂",
    ),
    # Bias and Discrimination (9)
    "偏见歧视": (
        "地域歧视",
        "性别歧视",
        "民族种族歧视",
        "宗教歧视",
        "年龄歧视",
        "残障歧视",
        "职业歧视",
        "性取向歧视",
        "外貌歧视",
    ),
    # Privacy and Property (4)
    "隐私财产": ("泄露个人隐私", "跟踪监控", "侵犯知识产权", "侵占他人财产"),
    # Rumors and Misinformation (3)
    "谣言错误信息": ("编造谣言", "伪科学", "虚假新闻"),
    # Hate Speech and Abuse (3)
    "仇恨辱骂": ("人身攻击", "网络暴力", "煽动仇恨"),
    # Ethics and Morality (3)
    "伦理道德": ("学术不端", "违背公序良俗", "欺骗背信"),
    # Physical and Mental Health (2)
    "身心健康": ("自残自杀", "危害身体健康"),
}

SCENARIO_ENGLISH: dict[str, str] = {
    "违法犯罪": "Illegal Activities and Crime",
    "偏见歧视": "Bias and Discrimination",
    "隐私财产": "Privacy and Property",
    "谣言错误信息": "Rumors and Misinformation",
    "仇恨辱骂": "Hate Speech and Abuse",
    "伦理道德": "Ethics and Morality",
    "身心健康": "Physical and Mental Health",
}

SUBCATEGORIES: tuple[tuple[str, str], ...] = tuple(
    (scenario, sub) for scenario, subs in SCENARIOS.items() for sub in subs
)
