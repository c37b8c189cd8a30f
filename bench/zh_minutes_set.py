"""Scripted Mandarin meetings with the decisions and action items a careful note-taker
would write down, for `bench/minutes_zh.py`.

Each meeting mixes what should be found (decisions, requests, promises, deadlines said
in many ways) with what should not: results and facts ("压测结果显示…"), suggestions,
questions, and replies that only accept a request. Dates in the references were worked
out by hand from the meeting's date, not by the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["ZH_MEETINGS", "RefAction", "RefDecision", "ZhMeeting"]


@dataclass(frozen=True)
class RefDecision:
    row: int  # the row it was said in
    key: str  # a phrase of it


@dataclass(frozen=True)
class RefAction:
    row: int  # the row of the request or promise (a reply that accepts it folds into it)
    owner: str
    due_date: str = ""  # ISO date, when the phrase names one
    due_text: str = ""  # the phrase, when it names no date ("上线前")


@dataclass(frozen=True)
class ZhMeeting:
    name: str
    meeting_date: date
    speakers: dict[str, str]
    rows: tuple[tuple[str, str], ...]  # (speaker label, text), ten seconds each
    decisions: tuple[RefDecision, ...]
    actions: tuple[RefAction, ...]


ZH_MEETINGS: tuple[ZhMeeting, ...] = (
    ZhMeeting(
        name="launch-review",
        meeting_date=date(2026, 3, 4),  # a Wednesday
        speakers={"S0": "王芳", "S1": "张伟", "S2": "李娜"},
        rows=(
            ("S0", "好，我们开始今天的上线评审会。先看一下压测的情况。"),
            ("S1", "压测结果显示数据库在每秒五千次请求时延迟超过两百毫秒，主要瓶颈在连接池。"),
            ("S2", "连接池的上限现在是五十，可以调到两百试试。"),
            ("S0", "那就这么定，连接池上限调到两百。"),
            ("S1", "好的，我明天把连接池配置改好，然后重新压测。"),
            ("S0", "第二件事是监控。现在线上没有统一的监控看板，出了问题很难定位。"),
            ("S2", "我觉得可以用 Grafana 做看板，数据源接 Prometheus。"),
            ("S0", "最后确定由张伟负责上线监控看板，用 Grafana 和 Prometheus。"),
            ("S1", "没问题。"),
            ("S0", "李娜请联系火山引擎的客户经理，确认语音识别的并发配额。"),
            ("S2", "好的，我后天之前给大家答复。"),
            ("S1", "另外，上线前我会把回滚脚本再检查一遍。"),
            ("S0", "我们决定本次上线时间定在下周三晚上十点。"),
            ("S0", "大家请在周五之前把各自的检查清单填完。"),
            ("S0", "今天就到这里，谢谢大家。"),
        ),
        decisions=(
            RefDecision(3, "连接池上限调到两百"),
            RefDecision(7, "监控看板"),
            RefDecision(12, "下周三晚上十点"),
        ),
        actions=(
            RefAction(4, "张伟", "2026-03-05"),
            RefAction(7, "张伟"),
            RefAction(9, "李娜", "2026-03-06"),
            RefAction(11, "张伟", due_text="上线前"),
            RefAction(13, "全体成员", "2026-03-06"),
        ),
    ),
    ZhMeeting(
        name="q3-planning",
        meeting_date=date(2026, 5, 20),  # a Wednesday
        speakers={"S0": "陈静", "S1": "刘洋", "S2": "赵磊"},
        rows=(
            ("S0", "今天讨论第三季度的产品规划，也就是 Q3 的路线图。"),
            ("S1", "用户调研的数据出来了，百分之六十的用户希望支持离线模式。"),
            ("S2", "离线模式的工作量不小，大概需要两个迭代。"),
            ("S0", "大家同意把离线模式放进 Q3 的路线图吗？"),
            ("S0", "好，那我们就定下来，离线模式作为 Q3 的第一优先级。"),
            ("S0", "刘洋，你下周三之前出一份离线模式的需求文档。"),
            ("S1", "好的。"),
            ("S2", "技术方案我来写，月底前给大家评审。"),
            ("S0", "还有一个问题，安卓端的崩溃率上周是百分之零点八，比上个月高了不少。"),
            ("S2", "主要是 5G 网络切换的时候 SDK 会崩溃，已经定位到原因了。"),
            ("S0", "那这个问题由赵磊来修复，下个月十五号之前发布补丁版本。"),
            ("S1", "发布之后我来跟踪一周的崩溃率数据。"),
            ("S0", "最后，预算申请经过讨论已经通过了，下周开始招聘两名前端工程师。"),
            ("S0", "请大家明天下班前把本周周报发给我。"),
        ),
        decisions=(RefDecision(4, "第一优先级"), RefDecision(12, "预算申请")),
        actions=(
            RefAction(5, "刘洋", "2026-05-27"),
            RefAction(7, "赵磊", "2026-05-31"),
            RefAction(10, "赵磊", "2026-06-15"),
            RefAction(11, "刘洋", due_text="发布之后"),
            RefAction(13, "全体成员", "2026-05-21"),
        ),
    ),
    ZhMeeting(
        name="data-platform",
        meeting_date=date(2026, 9, 14),  # a Monday
        speakers={"S0": "孙浩", "S1": "周敏", "S2": "吴刚", "S3": "郑丽"},
        rows=(
            ("S0", "这周的数据平台例会，先同步一下 PostgreSQL 升级的进度。"),
            ("S1", "PostgreSQL 十五的升级已经在测试环境完成了，性能提升大约百分之二十。"),
            ("S2", "生产环境的升级需要停机半小时，最好放在周末。"),
            ("S0", "那就这样定了，生产环境升级放在这周六凌晨。"),
            ("S0", "周敏负责写升级方案，周四之前发出来。"),
            ("S2", "回滚预案我来准备，也是周四之前。"),
            ("S3", "我这边有个问题，API 网关的日志现在每天有三百 GB，存储成本太高了。"),
            ("S1", "可以把日志保留时间从九十天改成三十天。"),
            ("S0", "我同意，日志保留时间改为三十天。"),
            ("S0", "郑丽，你明天跟法务确认一下，三十天的保留期是否符合合规要求。"),
            ("S3", "行，我明天问一下。"),
            ("S2", "我看了一下监控，上个月的磁盘使用率已经到了百分之八十五。"),
            ("S0", "扩容的事情吴刚跟进一下，两周内给出采购清单。"),
            ("S0", "好，今天先到这里。"),
        ),
        decisions=(RefDecision(3, "这周六凌晨"), RefDecision(8, "三十天")),
        actions=(
            RefAction(4, "周敏", "2026-09-17"),
            RefAction(5, "吴刚", "2026-09-17"),
            RefAction(9, "郑丽", "2026-09-15"),
            RefAction(12, "吴刚", "2026-09-28"),
        ),
    ),
    ZhMeeting(
        name="support-retro",
        meeting_date=date(2026, 11, 5),  # a Thursday
        speakers={"S0": "黄磊", "S1": "林晓", "S2": "何军"},
        rows=(
            ("S0", "今天主要复盘上周的客户投诉，一共收到四十二个工单。"),
            ("S1", "其中一半是登录问题，大部分发生在 iOS 17 上。"),
            ("S2", "登录问题的根本原因是 OAuth token 过期以后没有自动刷新。"),
            ("S0", "这个 bug 优先级最高，何军你这周内修好。"),
            ("S2", "好，我今天就开始修。"),
            ("S1", "另外客户希望我们提供中文版的 API 文档。"),
            ("S0", "我们决定下个版本开始同时发布中英文 API 文档。"),
            ("S0", "林晓，翻译的工作你来协调，下下周五之前完成第一版。"),
            ("S1", "没问题，我去找翻译供应商报价。"),
            ("S2", "上次说的自动化测试覆盖率，现在已经达到百分之七十五了。"),
            ("S0", "很好，覆盖率的目标就定为百分之八十，大家都同意吧？"),
            ("S0", "那就按百分之八十执行。"),
            ("S0", "最后提醒一下，请大家记得在 11 月 10 号之前提交年度自评。"),
        ),
        decisions=(RefDecision(6, "中英文"), RefDecision(11, "百分之八十")),
        actions=(
            RefAction(3, "何军", "2026-11-06"),
            RefAction(7, "林晓", "2026-11-20"),
            RefAction(8, "林晓"),
            RefAction(12, "全体成员", "2026-11-10"),
        ),
    ),
    ZhMeeting(
        name="hiring",
        meeting_date=date(2026, 4, 1),  # a Wednesday
        speakers={"S0": "杨帆", "S1": "徐婷", "S2": "朱峰"},
        rows=(
            ("S0", "今天讨论招聘的进展。后端岗位目前收到了八十份简历。"),
            ("S1", "筛选下来有十二个人进入了面试，其中三个人进了终面。"),
            ("S2", "我面了其中两位，技术都不错，但是一位期望薪资比预算高百分之三十。"),
            ("S0", "预算这块我去跟人事谈，争取后天给答复。"),
            ("S1", "终面安排在下周二和下周四。"),
            ("S0", "朱峰，你把终面的题目准备一下，下周一之前发给我。"),
            ("S2", "好的，我周末整理好。"),
            ("S0", "另外，实习生项目我们决定今年暂停。"),
            ("S1", "那已经发出的实习生邀请怎么处理？"),
            ("S0", "徐婷你负责联系这几位同学，解释一下情况。"),
            ("S1", "明白，我明天上午打电话。"),
            ("S0", "今天就这些，散会。"),
        ),
        decisions=(RefDecision(7, "实习生项目"),),
        actions=(
            RefAction(3, "杨帆", "2026-04-03"),
            RefAction(5, "朱峰", "2026-04-06"),
            RefAction(9, "徐婷", "2026-04-02"),
        ),
    ),
    ZhMeeting(
        name="model-eval",
        meeting_date=date(2026, 7, 8),  # a Wednesday
        speakers={"S0": "马超", "S1": "罗娟", "S2": "梁勇"},
        rows=(
            ("S0", "我们来过一下模型评测的结果。"),
            ("S1", "新模型在中文测试集上的字错误率是百分之六点五，比旧模型低了两个点。"),
            ("S2", "但是推理速度慢了百分之四十，在 GPU 上每秒只能处理二十条。"),
            ("S0", "这个速度上线是不够的。罗娟，你评估一下量化以后的效果，下周五前给结论。"),
            ("S1", "好的，我先用 INT8 试一下。"),
            ("S2", "蒸馏的实验我来做，不过需要申请更多的 GPU 资源。"),
            ("S0", "GPU 资源我来申请，明天提交。"),
            ("S0", "另外，评测集我们确定用新版本，旧版本以后不再维护。"),
            ("S1", "新版本的评测集还缺方言数据，大概少了两千条。"),
            ("S0", "请梁勇负责补齐方言数据，月底之前完成。"),
            ("S2", "可以。"),
            ("S0", "好，今天就到这儿。"),
        ),
        decisions=(RefDecision(7, "评测集"),),
        actions=(
            RefAction(3, "罗娟", "2026-07-17"),
            RefAction(5, "梁勇"),
            RefAction(6, "马超", "2026-07-09"),
            RefAction(9, "梁勇", "2026-07-31"),
        ),
    ),
    ZhMeeting(
        name="campaign",
        meeting_date=date(2026, 10, 12),  # a Monday
        speakers={"S0": "邓超", "S1": "许晴", "S2": "曹阳"},
        rows=(
            ("S0", "双十一的活动方案今天要定下来。"),
            ("S1", "去年双十一的转化率是百分之三点二，今年目标是百分之四。"),
            ("S2", "我建议把预算的一半放在直播带货上。"),
            ("S0", "行，就按这个来，直播预算占一半。"),
            ("S0", "许晴负责联系主播，这周五之前把名单定好。"),
            ("S1", "好的。"),
            ("S2", "海报设计我这边来搞，下周二给初稿。"),
            ("S0", "另外，曹阳，落地页的文案也麻烦你写一下。"),
            ("S2", "没问题，周三之前给你。"),
            ("S1", "上次活动的用户反馈显示，页面加载太慢是最大的问题。"),
            ("S0", "技术那边说 CDN 扩容下周能完成。"),
            ("S0", "最终方案是线上线下同步开展，预算控制在五十万以内。"),
            ("S0", "大家会后把各自负责的部分整理成文档，周四前发群里。"),
        ),
        decisions=(RefDecision(3, "直播预算"), RefDecision(11, "线上线下")),
        actions=(
            RefAction(4, "许晴", "2026-10-16"),
            RefAction(6, "曹阳", "2026-10-20"),
            RefAction(7, "曹阳", "2026-10-14"),
            RefAction(12, "全体成员", "2026-10-15"),
        ),
    ),
    ZhMeeting(
        name="cluster-migration",
        meeting_date=date(2026, 12, 2),  # a Wednesday
        speakers={"S0": "钱进", "S1": "冯雪", "S2": "韩冰"},
        rows=(
            ("S0", "今天过一下 Kubernetes 集群迁移的风险。"),
            ("S1", "目前有三个服务还依赖老的 NFS 存储，迁移之后需要改成对象存储。"),
            ("S2", "对象存储我们用 TOS，SDK 已经接好了。"),
            ("S0", "好，那就定了，这三个服务统一改用 TOS。"),
            ("S0", "冯雪你下周一之前把这三个服务的改造排期发出来。"),
            ("S1", "可以，我尽快。"),
            ("S2", "还有证书的问题，现在的 TLS 证书下个月五号就过期了。"),
            ("S0", "证书续期韩冰跟进，务必在过期前搞定。"),
            ("S2", "明白。"),
            ("S0", "我们决定迁移窗口放在十二月十九号晚上。"),
            ("S1", "迁移当天需要有人值班吗？"),
            ("S0", "需要，值班表我来排，月底前发给大家。"),
            ("S0", "今天先到这里。"),
        ),
        decisions=(RefDecision(3, "TOS"), RefDecision(9, "迁移窗口")),
        actions=(
            RefAction(4, "冯雪", "2026-12-07"),
            RefAction(7, "韩冰", due_text="过期前"),
            RefAction(11, "钱进", "2026-12-31"),
        ),
    ),
)
