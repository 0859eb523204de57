"""Rendered HTML kept in the web process, for fragments read far more often than they
change (the follow-ups list: every staff member's view, refresh and page).

A key names everything the fragment shows, including a version that each change of
the rows behind it bumps in the database, in the same transaction. An entry is then
never wrong, only unused: a change makes new keys and old entries age out. That is why
each process can keep its own, with nothing to tell the others; the least recently
used entries go first when the cache reaches its size (FOLLOWUPS_LIST_CACHE_MB).
"""

import sys
import threading
from collections.abc import Callable, Hashable

from cachetools import LRUCache
from flask import Flask, current_app

EXTENSION = "followup.fragment_cache"


class FragmentCache:
    def __init__(self, max_bytes: int):
        # Sized by each string's memory (a page in a script beyond Latin-1 takes 2-4 bytes
        # a character), so FOLLOWUPS_LIST_CACHE_MB is what a process spends.
        self._entries = (
            LRUCache(maxsize=max_bytes, getsizeof=sys.getsizeof) if max_bytes > 0 else None
        )
        self._lock = threading.Lock()  # gunicorn's threads share it

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> str:
        """The fragment stored under `key`, else `render()`'s, stored for next time."""
        if self._entries is None:
            return render()
        with self._lock:
            html = self._entries.get(key)
        if html is None:
            html = render()
            self._store(key, html)
        return html

    def _store(self, key: Hashable, html: str) -> None:
        if sys.getsizeof(html) > self._entries.maxsize:
            return  # larger than the whole cache: served, not kept
        with self._lock:
            self._entries[key] = html


def init_app(app: Flask) -> None:
    megabytes = app.config["FOLLOWUPS_LIST_CACHE_MB"]
    app.extensions[EXTENSION] = FragmentCache(int(megabytes * 1024 * 1024))


def get_or_render(key: Hashable, render: Callable[[], str]) -> str:
    return current_app.extensions[EXTENSION].get_or_render(key, render)
