"""The storage package keeps its promises about itself: an honest ``__all__`` and a drawn error tree."""

from __future__ import annotations

import inspect
import re

import riskline.storage
from riskline.storage import errors


def test_the_public_names_are_sorted_and_all_importable() -> None:
    names = riskline.storage.__all__
    assert names == sorted(names)
    assert all(hasattr(riskline.storage, name) for name in names)


def test_every_storage_error_is_exported() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == errors.__name__
    }
    assert classes <= set(riskline.storage.__all__)


def test_the_error_tree_in_the_docstring_names_every_error_with_its_status() -> None:
    drawn = dict(re.findall(r"(\w+) \((\d{3})\)", errors.__doc__ or ""))
    classes = {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.StorageError)
    }
    expected = {name: cls.http_status for name, cls in classes.items()}
    assert {name: int(status) for name, status in drawn.items()} == expected


def test_the_drawn_tree_matches_the_class_hierarchy() -> None:
    lines = [line for line in (errors.__doc__ or "").splitlines() if re.search(r"\w+ \(\d{3}\)", line)]
    parents: list[tuple[int, str]] = []
    for line in lines:
        name = re.findall(r"(\w+) \(\d{3}\)", line)[0]
        depth = line.index(name)
        while parents and parents[-1][0] >= depth:
            parents.pop()
        if parents:
            assert getattr(errors, parents[-1][1]) in getattr(errors, name).__mro__[1:], name
        parents.append((depth, name))
