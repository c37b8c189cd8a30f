"""Stage checkpoints kept in the object store, next to the task's other objects."""

from __future__ import annotations

from meeting_agent.errors import NotFound
from meeting_agent.ports import ObjectStore


class ObjectStoreCheckpoints:
    """`Checkpoints` under `<task prefix>/checkpoints/<stage>/`; deleted with the task."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix if prefix.endswith("/") else prefix + "/"

    def load(self, name: str) -> bytes | None:
        try:
            with self._store.open_reader(self._prefix + name) as reader:
                return reader.read()
        except NotFound:
            return None

    def save(self, name: str, data: bytes) -> None:
        writer = self._store.open_writer(self._prefix + name, content_type="application/json")
        try:
            writer.write(data)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
