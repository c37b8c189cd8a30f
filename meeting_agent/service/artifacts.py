"""Writing minutes artifacts: one generation, stored as JSON and Markdown."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from meeting_agent import reasons
from meeting_agent.deadlines import provider_budget
from meeting_agent.domain import object_keys
from meeting_agent.domain.models import (
    Artifact,
    ArtifactState,
    CallContext,
    PromptTemplate,
    ProviderChoice,
    ProviderFallback,
    Task,
    TaskError,
)
from meeting_agent.errors import MeetingAgentError, NotFound, Unavailable, canonical_code
from meeting_agent.exports.minutes import to_json, to_markdown
from meeting_agent.ports import (
    Clock,
    MinutesGenerator,
    MinutesRequest,
    MinutesResult,
    ObjectStore,
    UnitOfWorkFactory,
)
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES, DEFAULT_TEMPLATE_ID
from meeting_agent.service.failover import (
    ProviderFailure,
    every_provider_failed,
    failover_order,
    fallback_of,
)

_LOGGER = logging.getLogger(__name__)

# Builds a provider's generator for one artifact, so its calls are billed to it.
GeneratorFactory = Callable[[CallContext], MinutesGenerator]


def error_of(exc: MeetingAgentError) -> TaskError:
    """What a task shows of an error: its code, reason and message, never a path on the
    server (a library's message may quote the scratch file it failed on)."""
    return TaskError(
        code=int(canonical_code(exc)),
        reason=exc.reason,
        message=_without_server_paths(exc.message),
        metadata={k: _without_server_paths(v) for k, v in exc.metadata.items()},
    )


# Absolute paths under the directories jobs work in (the system's temporary directory,
# where decoded audio goes unless configured otherwise) are replaced.
_SERVER_PATH = re.compile(
    r"(?<![\w.:/-])(?:"
    + "|".join(
        re.escape(root.rstrip("/"))
        for root in sorted({tempfile.gettempdir(), "/tmp", "/var/tmp"}, reverse=True)
    )
    + r")(?![\w.-])(?:/[^\s'\":,;)]*)?"
)


def _without_server_paths(text: str) -> str:
    return _SERVER_PATH.sub("<server file>", text)


class MinutesWriter:
    """Generates one artifact's minutes, trying providers in failover order."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: ObjectStore,
        clock: Clock,
        generators: Mapping[str, GeneratorFactory],
        default_order: Sequence[str],
        budgets: Mapping[str, float] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._store = store
        self._clock = clock
        self._generators = generators
        self._default_order = list(default_order)
        # Seconds an artifact gives each provider across its calls (see `deadlines`).
        self._budgets = dict(budgets or {})

    def template(self, tenant_id: str, template_id: str) -> PromptTemplate:
        template_id = template_id or DEFAULT_TEMPLATE_ID
        if template_id in BUILTIN_TEMPLATES:
            return BUILTIN_TEMPLATES[template_id]
        with self._uow_factory(read_only=True) as uow:
            template = uow.prompt_templates.get(tenant_id, template_id)
        if template is None:
            raise NotFound(f"promptTemplates/{template_id}")
        return template

    def first_provider(self, choices: Sequence[ProviderChoice]) -> str:
        """The generator tried first for these choices, "" when none is configured."""
        order = [c.provider for c in choices] or self._default_order
        return next((name for name in order if name in self._generators), "")

    def generate(
        self, task: Task, artifact: Artifact, choices: Sequence[ProviderChoice]
    ) -> Artifact:
        """Fill in `artifact` (already stored as GENERATING); failures mark it FAILED."""
        try:
            result, fallback = self._run_generators(task, artifact, choices)
        except MeetingAgentError as exc:
            failed = replace(
                artifact,
                state=ArtifactState.FAILED,
                error=error_of(exc),
                update_time=self._clock.now(),
            )
            self._save(failed)
            raise
        json_key = object_keys.artifact_key(task.tenant_id, task.id, artifact.id, "json")
        markdown_key = object_keys.artifact_key(task.tenant_id, task.id, artifact.id, "md")
        self._put(json_key, to_json(result.minutes))
        fallbacks = [f for f in task.fallbacks if f.output == "transcript"]
        self._put(
            markdown_key,
            to_markdown(
                result.minutes,
                title=task.display_name,
                meeting_date=task.create_time.date(),
                language_code=task.options.language_code,
                fallbacks=fallbacks + ([fallback] if fallback else []),
            ),
        )
        done = replace(
            artifact,
            state=ArtifactState.SUCCEEDED,
            minutes=result.minutes,
            llm_provider=result.provider,
            llm_model=result.model,
            extractive=result.extractive,
            fallback=fallback,
            json_object_key=json_key,
            markdown_object_key=markdown_key,
            error=None,
            update_time=self._clock.now(),
        )
        self._save(done)
        return done

    def _run_generators(
        self, task: Task, artifact: Artifact, choices: Sequence[ProviderChoice]
    ) -> tuple[MinutesResult, ProviderFallback | None]:
        with self._uow_factory(read_only=True, snapshot=True) as uow:
            transcript = uow.transcripts.get(task.tenant_id, task.id, with_words=False)
            mappings = uow.speaker_mappings.get(task.tenant_id, task.id)
        if transcript is None:
            raise NotFound(f"tasks/{task.id}/transcript", reason=reasons.TRANSCRIPT_NOT_READY)
        context = CallContext(
            tenant_id=task.tenant_id,
            user_id=task.creator_id,
            task_id=task.id,
            labels=dict(task.labels),
            scope=artifact.id,
        )
        request = MinutesRequest(
            transcript=transcript,
            context=context,
            speaker_names={label: i.display_name for label, i in mappings.mappings.items()},
            template=self.template(task.tenant_id, artifact.prompt_template_id),
            language_code=task.options.language_code or transcript.language_code,
            meeting_date=task.create_time.date(),
        )
        order = failover_order(
            [c.provider for c in choices] or self._default_order,
            self._generators,
            no_fallback=task.options.no_fallback,
        )
        failures: list[ProviderFailure] = []
        for name in order:
            generator = self._generators[name](context)
            try:
                with provider_budget(name, self._budgets.get(name)):
                    result = generator.generate(request)
            except Unavailable as exc:
                # An outage of one provider is what failover is for; try the next.
                _LOGGER.warning("minutes provider %s unavailable: %s", name, exc.message)
                failures.append((name, exc))
            else:
                return result, fallback_of("minutes", name, failures)
        if not failures:
            raise Unavailable(
                "no minutes generator is configured", reason=reasons.MINUTES_GENERATOR_UNAVAILABLE
            )
        raise every_provider_failed("minutes", failures)

    def _put(self, key: str, text: str) -> None:
        writer = self._store.open_writer(key, content_type="text/plain; charset=utf-8")
        try:
            writer.write(text.encode())
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    def _save(self, artifact: Artifact) -> None:
        with self._uow_factory() as uow:
            uow.artifacts.save(artifact)
            uow.commit()
