"""Scripts of the synthetic meetings the hotword benchmark speaks with espeak-ng.

Each meeting is full of what a tenant puts in a hotword set (product names, people's
names, jargon) and of ordinary words that look or sound like those terms ("number"
near "Nimbus", "work day" near "Workday"), so a correction that rewrites common words
shows up as a higher error rate. Every hotword set also lists terms nobody says in
that meeting, as real sets do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    voice: str
    text: str


@dataclass(frozen=True)
class Meeting:
    name: str
    hotwords: tuple[str, ...]
    turns: tuple[Turn, ...]


# espeak-ng voices (language + variant) that exist in Debian's espeak-ng-data.
US = "en-us"
US_F = "en-us+f3"
GB = "en-gb"
# Variants attach to voice files, not to language aliases: "en-gb+f2" silently
# speaks the male en-gb voice, while the en-gb voice file with +f2 is female.
GB_F = "gmw/en+f2"
RP = "en-gb-x-rp"
SCOT = "en-gb-scotland+m3"
NYC = "en-us-nyc"
CARIB = "en-029"

MEETINGS: tuple[Meeting, ...] = (
    Meeting(
        name="platform-weekly",
        hotwords=(
            "Kubernetes",
            "Grafana",
            "Prometheus",
            "Siobhan",
            "Okonkwo",
            "PagerDuty",
            "idempotency",
            "Zephyr gateway",
            "Terraform",
            "Chidi Okafor",
        ),
        turns=(
            Turn(
                US,
                "Good morning everyone, let's start the platform weekly. Siobhan, can you "
                "give us the Kubernetes update?",
            ),
            Turn(
                GB_F,
                "Sure. We finished moving the billing service to Kubernetes last "
                "Thursday. The Grafana dashboards now show latency per pod, and "
                "Prometheus alerts go straight to PagerDuty.",
            ),
            Turn(US, "Great. Were there any problems with the migration?"),
            Turn(
                GB_F,
                "Just one. The retry logic was not safe, so a few invoices were sent "
                "twice. Okonkwo fixed it by adding idempotency keys to every request.",
            ),
            Turn(
                SCOT,
                "Yes, and I added a test for it. The Zephyr gateway also needed a new "
                "timeout, because the old one was thirty seconds.",
            ),
            Turn(US, "What number of customers were affected?"),
            Turn(
                SCOT,
                "About forty. We emailed each of them and refunded the duplicate "
                "charges the same day.",
            ),
            Turn(
                US,
                "Good. Next week we plan to move the search cluster. Siobhan will write "
                "the Terraform for it, and Okonkwo will review it on Tuesday.",
            ),
            Turn(
                GB_F,
                "Can we also get a Grafana panel for the error budget? The graph on "
                "the old page was hard to read.",
            ),
            Turn(US, "I will add it to the board. Let's meet again on Monday."),
        ),
    ),
    Meeting(
        name="product-review",
        hotwords=(
            "Nimbus Cloud",
            "Priya Raghunathan",
            "Tomasz",
            "Quokka Analytics",
            "onboarding funnel",
            "Aurelia",
            "Mixpanel",
            "Salesforce",
        ),
        turns=(
            Turn(
                US_F,
                "Welcome to the product review. Today we look at the onboarding "
                "funnel for Nimbus Cloud.",
            ),
            Turn(
                RP,
                "Thanks. Quokka Analytics shows that only a third of new users finish "
                "the setup wizard. Prior to the redesign it was closer to half.",
            ),
            Turn(US_F, "Tomasz, what changed in the wizard?"),
            Turn(
                NYC,
                "We added a step that asks for a credit card. Priya Raghunathan thinks "
                "that step is the main reason people leave.",
            ),
            Turn(
                RP,
                "I agree with Priya. The number of support tickets about billing also "
                "went up in the same week.",
            ),
            Turn(US_F, "Can we measure it in Mixpanel before we decide?"),
            Turn(
                NYC,
                "Yes. I will tag the card step as its own event, and Aurelia will "
                "build a dashboard for it.",
            ),
            Turn(RP, "We should also test a version without the card step for one week."),
            Turn(
                US_F,
                "Agreed. Tomasz owns the experiment, and we review the numbers at "
                "the next meeting.",
            ),
        ),
    ),
    Meeting(
        name="finance-close",
        hotwords=(
            "Nakamura",
            "EBITDA",
            "accruals",
            "NetSuite",
            "Oyelaran",
            "deferred revenue",
            "Brightwater",
            "Xero",
        ),
        turns=(
            Turn(GB, "Let's go through the month end close. Nakamura, where are we with accruals?"),
            Turn(
                US_F,
                "Most accruals are booked in NetSuite. Two vendor invoices are still "
                "missing, so I estimated them.",
            ),
            Turn(GB, "And the deferred revenue schedule?"),
            Turn(
                CARIB,
                "Oyelaran updated it yesterday. The Brightwater contract moves about "
                "ninety thousand dollars into next quarter.",
            ),
            Turn(GB, "What does that do to EBITDA?"),
            Turn(
                US_F,
                "EBITDA drops by roughly four percent for this quarter, but the full "
                "year is unchanged.",
            ),
            Turn(
                CARIB,
                "I will send a note to the board so nobody is surprised. The net "
                "effect on cash is zero.",
            ),
            Turn(
                GB,
                "Good. Nakamura, please close the books by Friday, and Oyelaran will "
                "check the Brightwater entries before then.",
            ),
        ),
    ),
    Meeting(
        name="hiring-sync",
        hotwords=(
            "Greenhouse",
            "Lindqvist",
            "Ngozi Adeyemi",
            "Kalinowski",
            "Workday",
            "Rust",
            "Lever",
        ),
        turns=(
            Turn(NYC, "Quick hiring sync. We have three open roles for the platform team."),
            Turn(
                GB_F,
                "For the Rust role we have two strong candidates in Greenhouse. "
                "Ngozi Adeyemi did very well in the system design interview.",
            ),
            Turn(NYC, "And the second one?"),
            Turn(
                GB_F,
                "Erik Lindqvist. His coding test was good, but he wants to start in three months.",
            ),
            Turn(
                SCOT,
                "I can interview both of them on Thursday. It is a normal work day "
                "for me, so any time after lunch works.",
            ),
            Turn(NYC, "Great. Kalinowski, can you prepare the offer letters in Workday?"),
            Turn(US, "Yes. I will draft them today and send them to finance for approval."),
            Turn(
                SCOT,
                "Let's also post the data engineer role on our careers page. The green "
                "house photo on that page is very old.",
            ),
            Turn(NYC, "Good point. We will update it this week."),
        ),
    ),
    Meeting(
        name="incident-review",
        hotwords=(
            "Cassandra",
            "Bogdan",
            "Fastly",
            "runbook",
            "Dmitri Volkov",
            "Kafka",
            "Sentry",
            "Datadog",
        ),
        turns=(
            Turn(
                RP,
                "This is the review of Saturday's outage. Bogdan, please walk us "
                "through the timeline.",
            ),
            Turn(
                US,
                "At nine in the morning the Cassandra cluster ran out of disk space. "
                "Writes failed, and the Kafka consumers stopped.",
            ),
            Turn(RP, "How did we find out?"),
            Turn(
                US,
                "Sentry showed a spike of errors, and Dmitri Volkov was paged a few minutes later.",
            ),
            Turn(
                CARIB,
                "I followed the runbook, but the runbook was written for the old "
                "cluster. It took an hour to find the right commands.",
            ),
            Turn(RP, "Did the Fastly cache help?"),
            Turn(
                CARIB,
                "Yes. Reads were served from Fastly, so most customers did not "
                "notice. It was the worst outage this century for the payments "
                "team though.",
            ),
            Turn(
                US,
                "Action items: Bogdan adds disk alerts for Cassandra, and Dmitri "
                "rewrites the runbook by next Friday.",
            ),
            Turn(RP, "Thank you all. Please add an entry to the incident log."),
        ),
    ),
    Meeting(
        name="design-crit",
        hotwords=(
            "Figma",
            "Ximena",
            "Aoife",
            "Tailwind",
            "Storybook",
            "Lighthouse score",
            "Jaeger",
        ),
        turns=(
            Turn(GB_F, "Welcome to design crit. Ximena will show the new settings page."),
            Turn(
                US_F,
                "Thanks. The mockups are in Figma. I moved the billing section to the "
                "top, because it is what people look for first.",
            ),
            Turn(GB, "I like it. Aoife, does it match the components in Storybook?"),
            Turn(
                RP,
                "Mostly. Two buttons use old colours, and I will fix them in Tailwind "
                "before the release.",
            ),
            Turn(US_F, "What about performance? The old page had a low Lighthouse score."),
            Turn(
                RP,
                "The new one scores ninety two. The slow part was a chart library that we removed.",
            ),
            Turn(
                GB,
                "Great work. Let's ship it next sprint, and Ximena will write the release notes.",
            ),
        ),
    ),
)

# A short meeting for the README's first command: three voices, a decision, action
# items with owners and due dates, so every part of the minutes has something in it.
DEMO = Meeting(
    name="launch-sync",
    hotwords=("Stripe", "Priya", "Marcus"),
    turns=(
        Turn(US, "Good morning. This is the launch sync. Priya, where are we with payments?"),
        Turn(
            GB_F,
            "The Stripe integration is finished and tested. We only need the "
            "production keys from finance.",
        ),
        Turn(SCOT, "I can get the keys from finance. I will send them to Priya by Friday."),
        Turn(US, "Great. We decided to launch on the first of December, as planned."),
        Turn(GB_F, "Then I will update the release notes before Wednesday."),
        Turn(US, "Marcus, can you check the load tests again on Monday?"),
        Turn(SCOT, "Yes, I will run them on Monday morning and share the results."),
        Turn(US, "Thank you both. That is all for today."),
    ),
)
