"""Where artifact and snapshot bytes live: a local folder or any fsspec URL (``s3://...``).

The database records which paths exist (and enforces write-once); this only moves bytes.
Layout under the root: ``runs/<run_id>/<path>`` and ``blobs/<aa>/<sha256>``.

How a write becomes visible depends on the storage:

- a folder (or another file system with a cheap rename): the bytes go to a temporary name,
  then are renamed into place, so readers never see half a file;
- S3 (``s3://bucket/prefix``, through s3fs): an object appears whole or not at all when its
  upload completes, and S3 has no rename (only copy and delete), so the bytes stream straight to
  the final key, in parts for large files, and an upload that fails is aborted, never completed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, BinaryIO

import fsspec

from runyard.errors import InvalidNameError, MissingExtraError, StoreError, UserError
from runyard.settings import ARTIFACT_ROOT_ENV

__all__ = ["ENDPOINT_ENVS", "ArtifactRepository", "copy_stream"]

_CHUNK = 1024 * 1024
_S3_PROTOCOLS = ("s3", "s3a")
_S3_MIN_PART = 5 * 1024 * 1024
"""S3's smallest part of a multipart upload: the most an upload keeps in memory at first."""
_S3_MAX_PARTS = 10_000
_S3_READ_BLOCK = 2 * 1024 * 1024
"""How far a read of an S3 object fetches ahead: the memory one open artifact holds."""

ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
"""Environment variables naming a custom S3 endpoint, the first set one winning (as in botocore)."""


class ArtifactRepository:
    """Bytes under one root: a folder, or an fsspec URL such as ``s3://bucket/prefix``.

    Args:
        root: the folder or URL everything goes under.
        storage_options: options of the fsspec file system, for ``s3://`` those of s3fs's
            ``S3FileSystem`` (``endpoint_url``, ``key``, ``secret``, ``client_kwargs``...). S3
            also takes the usual AWS settings: credentials and region from the environment or
            ``~/.aws``, a custom endpoint from ``$AWS_ENDPOINT_URL_S3`` or ``$AWS_ENDPOINT_URL``
            (explicit options win).

    Raises:
        MissingExtraError: an ``s3://`` root without s3fs installed.
    """

    def __init__(self, root: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.root = root.rstrip("/")
        options = dict(storage_options or {})
        protocol = fsspec.utils.get_protocol(self.root)
        self._on_s3 = protocol in _S3_PROTOCOLS
        if self._on_s3:
            options = _s3_options(options)
        fs, path = fsspec.core.url_to_fs(self.root, **options)
        self._fs: Any = fs
        self._base: str = path.rstrip("/")

    def _run_path(self, run_id: str, path: str) -> str:
        if run_id in ("", ".", ".."):
            raise InvalidNameError(f"Run id {run_id!r} cannot name an artifact folder.")
        return f"{self._base}/runs/{run_id}/{path}"

    def _blob_path(self, digest: str) -> str:
        return f"{self._base}/blobs/{digest[:2]}/{digest}"

    def write_artifact(self, run_id: str, path: str, source: BinaryIO) -> int:
        """Copy ``source`` to the artifact's place; return the number of bytes written.

        Raises:
            StoreError: the storage refused the bytes (no such bucket, access denied...).
        """
        return self._write(self._run_path(run_id, path), source, None)

    def open_artifact(self, run_id: str, path: str) -> BinaryIO:
        """A stream of the artifact's bytes, read as the caller reads it.

        Raises:
            StoreError: the bytes are not in the storage, or it cannot be read.
        """
        return self._open(self._run_path(run_id, path))

    def delete_artifact(self, run_id: str, path: str) -> None:
        target = self._run_path(run_id, path)
        with self._storage_errors(target):
            if self._fs.exists(target):
                self._fs.rm(target)

    def write_blob(self, digest: str, source: BinaryIO) -> int:
        """Copy ``source`` to the blob's place; return the number of bytes written.

        Raises:
            UserError: the content does not hash to ``digest`` (nothing is stored).
            StoreError: the storage refused the bytes.
        """
        return self._write(self._blob_path(digest), source, digest)

    def open_blob(self, digest: str) -> BinaryIO:
        """A stream of the blob's bytes (see ``open_artifact``)."""
        return self._open(self._blob_path(digest))

    # -- moving bytes --------------------------------------------------------------------------

    def _open(self, target: str) -> BinaryIO:
        options = {"block_size": _S3_READ_BLOCK} if self._on_s3 else {}
        with self._storage_errors(target, reading=True):
            stream: BinaryIO = self._fs.open(target, "rb", **options)
        return stream

    def _write(self, target: str, source: BinaryIO, digest: str | None) -> int:
        if self._on_s3:
            return self._upload(target, source, digest)
        return self._write_and_rename(target, source, digest)

    def _write_and_rename(self, target: str, source: BinaryIO, digest: str | None) -> int:
        """Write through a temporary name, then move into place, so readers never see half a
        file. With ``digest``, the content must hash to it."""
        parent = target.rsplit("/", 1)[0]
        with self._storage_errors(target):
            self._fs.makedirs(parent, exist_ok=True)
        # Unique per writer: two processes storing the same blob at once must not share a file.
        temporary = f"{target}.partial-{uuid.uuid4().hex}"
        try:
            with self._storage_errors(target):
                out = self._fs.open(temporary, "wb")
            with out:
                size = self._copy(source, out, target, digest)
            with self._storage_errors(target):
                self._fs.mv(temporary, target)
        except BaseException:
            if self._fs.exists(temporary):
                self._fs.rm(temporary)
            raise
        return size

    def _upload(self, target: str, source: BinaryIO, digest: str | None) -> int:
        """Stream to the final key: one PUT for a small file, a multipart upload for a large
        one. Only ``close()`` completes the upload; a failure (the source breaking off, a wrong
        digest) aborts it instead, and no object appears."""
        with self._storage_errors(target):
            out = self._fs.open(target, "wb", block_size=_S3_MIN_PART)
        try:
            size = self._copy(source, out, target, digest)
            with self._storage_errors(target):
                out.close()
        except BaseException as exc:
            _abort_upload(out, exc)
            raise
        return size

    def _copy(self, source: BinaryIO, out: Any, target: str, digest: str | None) -> int:
        """Copy in chunks, hashing on the way; errors of ``source`` pass through as they are."""
        hasher = hashlib.sha256()
        size = 0
        grow_parts = self._on_s3 and not getattr(self._fs, "fixed_upload_size", False)
        while True:
            block = source.read(_CHUNK)
            if not block:
                break
            hasher.update(block)
            with self._storage_errors(target):
                out.write(block)
            size += len(block)
            if grow_parts:
                # S3 takes at most 10,000 parts: past the first thousand 5 MiB parts, each part
                # is a thousandth of what was written, so objects up to S3's 5 TiB still fit.
                out.blocksize = max(_S3_MIN_PART, size * 10 // _S3_MAX_PARTS)
        if digest is not None and hasher.hexdigest() != digest:
            raise UserError(
                f"The uploaded content hashes to {hasher.hexdigest()}, not {digest}: the "
                "digest is wrong or the file changed while being read. Hash the content "
                "again and upload it under that digest."
            )
        return size

    # -- errors --------------------------------------------------------------------------------

    @contextmanager
    def _storage_errors(self, target: str, *, reading: bool = False) -> Iterator[None]:
        """Say what is wrong with the storage, and what to do, when it refuses ``target``."""
        try:
            yield
        except FileNotFoundError as exc:
            if self._on_s3 and self._bucket_is_missing(exc):
                bucket = self._base.split("/", 1)[0]
                raise StoreError(
                    f"The artifact root {self.root} is in S3 bucket {bucket!r}, which does not "
                    f"exist at {self._endpoint()}. Create the bucket (for example "
                    f"`aws s3 mb s3://{bucket}`, with --endpoint-url for an S3-compatible "
                    f"server), or set the artifact root ({ARTIFACT_ROOT_ENV}) to an existing "
                    "bucket."
                ) from exc
            if not reading:
                raise
            raise StoreError(
                f"{self._url(target)} is missing from the artifact root {self.root}, though the "
                "store records it: the artifact root has changed or the file was deleted. Point "
                f"{ARTIFACT_ROOT_ENV} at the root the workspace was written with."
            ) from exc
        except PermissionError as exc:
            raise StoreError(
                f"The artifact root {self.root} refused access to {self._url(target)}: {exc}. "
                + (
                    "Check the AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or "
                    "AWS_PROFILE) and that they may read and write the bucket."
                    if self._on_s3
                    else "Check the permissions of the folder."
                )
            ) from exc
        except Exception as exc:
            if not (self._on_s3 and _is_botocore_error(exc)):
                raise
            # No credentials, an endpoint that does not answer...: botocore's own errors.
            raise StoreError(
                f"Cannot use the artifact root {self.root} at {self._endpoint()}: {exc}. Check "
                "the endpoint (AWS_ENDPOINT_URL_S3) and the credentials (AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)."
            ) from exc

    def _bucket_is_missing(self, error: BaseException) -> bool:
        cause: BaseException | None = error
        while cause is not None:
            response = getattr(cause, "response", None)
            if (
                isinstance(response, dict)
                and response.get("Error", {}).get("Code") == "NoSuchBucket"
            ):
                return True
            cause = cause.__cause__ or cause.__context__
        # A missing key and a missing bucket can look alike (a HEAD answers 404 without a body).
        bucket = self._base.split("/", 1)[0]
        self._fs.invalidate_cache(bucket)
        return not self._fs.exists(bucket)

    def _endpoint(self) -> str:
        # The client's own endpoint: it knows what botocore made of options and environment.
        client = getattr(self._fs, "_s3", None)
        endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None)
        return str(endpoint) if endpoint else "the S3 endpoint"

    def _url(self, path: str) -> str:
        return str(self._fs.unstrip_protocol(path))


def _s3_options(options: dict[str, Any]) -> dict[str, Any]:
    """s3fs's options: the explicit ones, plus the custom endpoint of the environment."""
    if importlib.util.find_spec("s3fs") is None:
        raise MissingExtraError("s3:// artifact roots need s3fs: pip install 'runyard[s3]'.")
    client_kwargs = dict(options.get("client_kwargs") or {})
    endpoint = next((os.environ[n] for n in ENDPOINT_ENVS if os.environ.get(n)), None)
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        endpoint = None  # botocore's switch to ignore them, honoured here too
    # botocore reads these variables itself since 1.31; passing the endpoint on explicitly keeps
    # it working with older ones, whatever aiobotocore pins.
    if endpoint and "endpoint_url" not in options and "endpoint_url" not in client_kwargs:
        options["client_kwargs"] = {**client_kwargs, "endpoint_url": endpoint}
    return options


def _is_botocore_error(error: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped]

    return isinstance(error, BotoCoreError)


def _abort_upload(out: Any, error: BaseException) -> None:
    """Abandon an upload, so that neither ``close()`` nor the file's finaliser completes it."""
    try:
        out.discard()
    except Exception as exc:
        # The upload's own error is what the caller must see; this one rides along with it.
        error.add_note(f"Aborting the upload of {out.path} failed too: {exc!r}")
    finally:
        out.closed = True


def copy_stream(source: BinaryIO, target: BinaryIO) -> None:
    shutil.copyfileobj(source, target, _CHUNK)
