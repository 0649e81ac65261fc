"""The storages of ``STORAGES`` by alias, as objects a model field can hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from filestore.configuration import MEDIA, ROLLS, UPLOADS

if TYPE_CHECKING:
    from filestore.local import LocalStorage
    from filestore.s3 import ObjectStorage

__all__ = ["MEDIA", "ROLLS", "UPLOADS", "named"]


class NamedStorage(LazyObject):
    """Stand in for ``storages[alias]``, looked up on first use and again after STORAGES
    changes (a FileField keeps the storage object it was given for good)."""

    def __init__(self, alias: str) -> None:
        self.__dict__["_alias"] = alias
        super().__init__()

    def _setup(self) -> None:
        self._wrapped = storages[self.__dict__["_alias"]]

    # One handle per alias: a copy (Django copies model fields) is the same handle.
    def __copy__(self) -> NamedStorage:
        return self

    def __deepcopy__(self, memo: dict) -> NamedStorage:
        return self


_named: dict[str, NamedStorage] = {}


def named(alias: str) -> LocalStorage | ObjectStorage:
    """Return the storage ``alias`` of STORAGES (``MEDIA``, ``UPLOADS`` or ``ROLLS``)."""
    if alias not in _named:
        _named[alias] = NamedStorage(alias)
    return _named[alias]  # type: ignore[return-value]


@receiver(setting_changed, dispatch_uid="filestore.storages_changed")
def _forget_storages(*, setting: str, **kwargs) -> None:
    if setting == "STORAGES":
        for storage in _named.values():
            storage._wrapped = empty  # type: ignore[assignment]  # LazyObject's "not set up"
