"""The HTTP store: the Store verbs as requests to a runyard tracking server.

- ``store``: ``HttpStore``, what ``open_store`` returns for an ``http(s)://`` tracking URI.
- ``client``: ``ApiClient``, the client end of the API (httpx, retries, errors back as runyard
  errors, streamed uploads and downloads).
- ``journal``: the on-disk journal of changes kept while the server is away (no HTTP code).
- ``offline``: HttpStore's offline side: keeping changes, sending them back, best local
  knowledge of a run (no HTTP code).

The wire encoding both ends share is ``runyard.store.wire``. Importing this package needs httpx
(the ``server`` extra).
"""

from runyard.store.http.store import HttpStore

__all__ = ["HttpStore"]
