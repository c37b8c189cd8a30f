"""The composition root: builds adapters and services from settings, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from meeting_agent.adapters.db.database import SqlDatabase, upgrade_to_head
from meeting_agent.adapters.storage.local import LocalObjectStore
from meeting_agent.config import Settings
from meeting_agent.ports import Clock, ObjectStore
from meeting_agent.service.catalog import ProviderCatalog, embedded_catalog
from meeting_agent.service.common import SystemClock
from meeting_agent.service.library import HotwordSetService, PromptTemplateService
from meeting_agent.service.minutes import MinutesService
from meeting_agent.service.tasks import TaskService
from meeting_agent.service.transcripts import TranscriptService
from meeting_agent.service.uploads import UploadService
from meeting_agent.service.usage import UsageService
from meeting_agent.service.users import UserDirectory


@dataclass
class Container:
    settings: Settings
    database: SqlDatabase
    store: ObjectStore
    clock: Clock
    catalog: ProviderCatalog
    users: UserDirectory
    uploads: UploadService
    tasks: TaskService
    prompt_templates: PromptTemplateService
    hotword_sets: HotwordSetService
    transcripts: TranscriptService
    minutes: MinutesService
    usage: UsageService

    def close(self) -> None:
        self.database.dispose()


def build_store(settings: Settings) -> ObjectStore:
    return LocalObjectStore(settings.resolved_storage_root,
                            max_object_bytes=settings.storage.max_upload_bytes)


def bootstrap(settings: Settings) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    if settings.resolved_auto_migrate:
        upgrade_to_head(url)
    database = SqlDatabase(url)
    store = build_store(settings)
    clock = SystemClock()
    catalog = embedded_catalog()
    uow = database.unit_of_work
    return Container(
        settings=settings,
        database=database,
        store=store,
        clock=clock,
        catalog=catalog,
        users=UserDirectory(uow, clock),
        uploads=UploadService(uow, store, clock,
                              max_upload_bytes=settings.storage.max_upload_bytes),
        tasks=TaskService(uow, store, clock, catalog),
        prompt_templates=PromptTemplateService(uow, clock),
        hotword_sets=HotwordSetService(uow, clock),
        transcripts=TranscriptService(uow, clock),
        minutes=MinutesService(uow, catalog),
        usage=UsageService(uow),
    )
