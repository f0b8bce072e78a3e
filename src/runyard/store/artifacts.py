"""Where artifact and snapshot bytes live: a local folder or any fsspec URL (``s3://...``).

The database records which paths exist (and enforces write-once); this only moves bytes.
Layout under the root: ``runs/<run_id>/<path>``, ``blobs/<aa>/<sha256>``, and ``uploads/``, the
partial files of the writes under way in a folder root.

A write is staged, then published (``Staged``), so that the store can publish while it holds the
path's reservation and mark the artifact complete in the same transaction. How the bytes are
staged and published depends on the storage:

- a folder (or another file system with a cheap rename): the bytes go to a partial file,
  ``uploads/<upload id>``, then are renamed into place, so readers never see half a file;
- S3 (``s3://bucket/prefix``, through s3fs): an object appears whole or not at all when its
  upload completes, and S3 has no rename (only copy and delete), so the bytes stream straight to
  the final key, in parts for large files, and publishing completes the multipart upload (or
  sends a small file whole); a write that fails is aborted, never completed.

What an upload that died leaves (its partial file; on S3 its unfinished multipart upload; a
target it published without the database recording it) is removed by ``clean_upload``, and
partial files no write owns any more by ``remove_stale_partials``.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import importlib.util
import os
import re
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, BinaryIO

import fsspec

from runyard.errors import InvalidNameError, MissingExtraError, StoreError, UserError
from runyard.settings import ARTIFACT_ROOT_ENV

__all__ = ["ENDPOINT_ENVS", "ArtifactRepository", "Staged", "copy_stream"]

_CHUNK = 1024 * 1024
_S3_PROTOCOLS = ("s3", "s3a")
_S3_MIN_PART = 5 * 1024 * 1024
"""S3's smallest part of a multipart upload: the most an upload keeps in memory at first."""
_S3_MAX_PARTS = 10_000
_S3_READ_BLOCK = 2 * 1024 * 1024
"""How far a read of an S3 object fetches ahead: the memory one open artifact holds."""
_UPLOADS = "uploads"
_LEGACY_PARTIAL = re.compile(r"\.partial-[0-9a-f]{32}")
"""The suffix of the partial files runyard wrote beside their target before ``uploads/``."""

ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
"""Environment variables naming a custom S3 endpoint, the first set one winning (as in botocore)."""

Progress = Callable[[], None]
"""Called before each block is written; it may raise to stop the write (nothing is kept)."""


class Staged(abc.ABC):
    """Bytes written, not yet visible: ``publish`` puts them in place, quickly (a rename, or
    the completion of an S3 upload), ``discard`` drops them. Call one of the two, once."""

    size: int
    """The number of bytes staged."""

    @abc.abstractmethod
    def publish(self) -> None:
        """Make the bytes visible at their target.

        Raises:
            StoreError: the storage refused.
        """

    @abc.abstractmethod
    def discard(self, cause: BaseException) -> None:
        """Drop the bytes, as ``cause`` is raised: a failure to is noted on ``cause`` (what
        is left is for ``clean_upload``, or on S3 the bucket's lifecycle rules)."""


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

    def _partial_path(self, name: str) -> str:
        return f"{self._base}/{_UPLOADS}/{name}"

    def stage_artifact(
        self,
        run_id: str,
        path: str,
        source: BinaryIO,
        upload_id: str,
        progress: Progress | None = None,
    ) -> Staged:
        """Copy ``source`` towards the artifact's place, not yet visible there.

        Args:
            upload_id: names the partial file (``uploads/<upload_id>`` in a folder root), so
                that ``clean_upload`` finds it if this write dies.
            progress: called before each block is written.

        Raises:
            StoreError: the storage refused the bytes (no such bucket, access denied...).
        """
        return self._stage(self._run_path(run_id, path), source, None, upload_id, progress)

    def write_artifact(self, run_id: str, path: str, source: BinaryIO) -> int:
        """Copy ``source`` to the artifact's place at once; return the number of bytes written.

        Raises:
            StoreError: the storage refused the bytes (no such bucket, access denied...).
        """
        return self._publish_now(self._run_path(run_id, path), source, None, uuid.uuid4().hex)

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

    def clean_upload(
        self, run_id: str, path: str, upload_id: str | None, keep: Collection[str] = ()
    ) -> None:
        """Remove what a dead upload of the artifact left: its partial file, its unfinished
        multipart uploads (S3), and anything at the target (it was never recorded complete).
        The caller holds the path's reservation, so no live write of it is under way.

        Args:
            upload_id: the dead upload's id; None for an upload of a runyard before uploads had
                ids, whose partial file is beside the target, ``<target>.partial-<32 hex>``.
            keep: for ``upload_id`` None, artifact paths of the run that look like such
                partial files and must stay.

        Raises:
            StoreError: the storage refused.
        """
        target = self._run_path(run_id, path)
        with self._storage_errors(target):
            if self._on_s3:
                self._abort_multipart_uploads(target)
                self._fs.rm_file(target)  # S3 deletes a missing key without complaint
                return
            if upload_id is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._fs.rm_file(self._partial_path(upload_id))
            else:
                self._remove_legacy_partials(run_id, path, keep)
            if self._fs.isfile(target):
                with contextlib.suppress(FileNotFoundError):
                    self._fs.rm_file(target)

    def remove_stale_partials(
        self, owned: Callable[[], Collection[str]], older_than: float
    ) -> list[str]:
        """Remove the partial files (``uploads/`` of a folder root) no write owns and none has
        touched since ``older_than`` (a time); return their names.

        Args:
            owned: the names (upload ids) of the partial files of uploads under way, asked once
                the folder is listed: a write records its id before it creates its file.

        Raises:
            StoreError: the storage refused.
        """
        if self._on_s3:
            return []  # S3 writes go straight to their key: nothing is staged under uploads/
        folder = self._partial_path("")
        with self._storage_errors(folder):
            try:
                listed = self._fs.ls(folder, detail=True)
            except FileNotFoundError:
                return []
            keep = set(owned())
            removed = []
            for entry in listed:
                name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
                if name in keep or entry.get("type") != "file":
                    continue
                if float(entry.get("mtime") or 0) >= older_than:
                    continue  # a write under way that no row names: a blob's, say
                with contextlib.suppress(FileNotFoundError):
                    self._fs.rm_file(entry["name"])
                removed.append(name)
            return removed

    def write_blob(self, digest: str, source: BinaryIO) -> int:
        """Copy ``source`` to the blob's place; return the number of bytes written.

        Raises:
            UserError: the content does not hash to ``digest`` (nothing is stored).
            StoreError: the storage refused the bytes.
        """
        return self._publish_now(
            self._blob_path(digest), source, digest, f"blob-{uuid.uuid4().hex}"
        )

    def open_blob(self, digest: str) -> BinaryIO:
        """A stream of the blob's bytes (see ``open_artifact``)."""
        return self._open(self._blob_path(digest))

    # -- moving bytes --------------------------------------------------------------------------

    def _open(self, target: str) -> BinaryIO:
        options = {"block_size": _S3_READ_BLOCK} if self._on_s3 else {}
        with self._storage_errors(target, reading=True):
            stream: BinaryIO = self._fs.open(target, "rb", **options)
        return stream

    def _publish_now(
        self, target: str, source: BinaryIO, digest: str | None, partial_name: str
    ) -> int:
        staged = self._stage(target, source, digest, partial_name, None)
        try:
            staged.publish()
        except BaseException as exc:
            staged.discard(exc)
            raise
        return staged.size

    def _stage(
        self,
        target: str,
        source: BinaryIO,
        digest: str | None,
        partial_name: str,
        progress: Progress | None,
    ) -> Staged:
        """Stage ``source`` for ``target``; with ``digest``, the content must hash to it."""
        if self._on_s3:
            return self._stage_upload(target, source, digest, progress)
        return self._stage_file(target, source, digest, partial_name, progress)

    def _stage_file(
        self,
        target: str,
        source: BinaryIO,
        digest: str | None,
        partial_name: str,
        progress: Progress | None,
    ) -> Staged:
        """Write a partial file under ``uploads/``, renamed into place when published."""
        temporary = self._partial_path(partial_name)
        with self._storage_errors(target):
            self._fs.makedirs(temporary.rsplit("/", 1)[0], exist_ok=True)
            out = self._fs.open(temporary, "wb")
        staged = _StagedFile(self, temporary, target)
        try:
            with out:
                hasher = hashlib.sha256()
                staged.size = self._copy(source, out.write, target, hasher, progress)
            _check_digest(hasher, digest)
        except BaseException as exc:
            staged.discard(exc)
            raise
        return staged

    def _stage_upload(
        self, target: str, source: BinaryIO, digest: str | None, progress: Progress | None
    ) -> Staged:
        """Read up to one part; a file that ends there is sent whole when published (one PUT),
        a larger one streams into a multipart upload, completed when published."""
        hasher = hashlib.sha256()
        head, ended = _read_head(source, hasher, progress)
        if ended:
            _check_digest(hasher, digest)
            return _StagedObject(self, target, b"".join(head))
        size = sum(len(block) for block in head)
        with self._storage_errors(target):
            out = self._fs.open(target, "wb", block_size=_S3_MIN_PART, autocommit=False)
        staged = _StagedMultipart(self, out, target)
        try:
            with self._storage_errors(target):
                while head:  # handed over one by one, so that no block is held twice
                    out.write(head.pop(0))
            size += self._copy(source, out.write, target, hasher, progress, grow_parts=out)
            _check_digest(hasher, digest)
            with self._storage_errors(target):
                out.close()  # sends the last part; the upload is completed by publish()
        except BaseException as exc:
            staged.discard(exc)
            raise
        staged.size = size
        return staged

    def _copy(
        self,
        source: BinaryIO,
        write: Callable[[bytes], Any],
        target: str,
        hasher: Any,
        progress: Progress | None,
        grow_parts: Any = None,
    ) -> int:
        """Copy in chunks, hashing on the way; errors of ``source`` pass through as they are.
        With ``grow_parts`` (an S3 file), its parts grow with the size written."""
        grow = grow_parts is not None and not getattr(self._fs, "fixed_upload_size", False)
        size = 0
        written = grow_parts.tell() if grow_parts is not None else 0
        while True:
            block = source.read(_CHUNK)
            if not block:
                return size
            if progress is not None:
                progress()
            hasher.update(block)
            with self._storage_errors(target):
                write(block)
            size += len(block)
            if grow:
                # S3 takes at most 10,000 parts: past the first thousand 5 MiB parts, each part
                # is a thousandth of what was written, so objects up to S3's 5 TiB still fit.
                grow_parts.blocksize = max(_S3_MIN_PART, (written + size) * 10 // _S3_MAX_PARTS)

    def _abort_multipart_uploads(self, target: str) -> None:
        bucket, key, _ = self._fs.split_path(target)
        found = self._fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=key)
        for upload in found.get("Uploads", []):
            if upload["Key"] == key:
                self._fs.abort_mpu(bucket, key, upload["UploadId"])

    def _remove_legacy_partials(self, run_id: str, path: str, keep: Collection[str]) -> None:
        target = self._run_path(run_id, path)
        folder, name = target.rsplit("/", 1)
        try:
            listed = self._fs.ls(folder, detail=False)
        except FileNotFoundError:
            return
        prefix = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
        for entry in listed:
            sibling = entry.rstrip("/").rsplit("/", 1)[-1]
            suffix = sibling[len(name) :]
            if (
                sibling.startswith(name)
                and _LEGACY_PARTIAL.fullmatch(suffix)
                and prefix + sibling not in keep
            ):
                with contextlib.suppress(FileNotFoundError):
                    self._fs.rm_file(entry)

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


def _read_head(
    source: BinaryIO, hasher: Any, progress: Progress | None
) -> tuple[list[bytes], bool]:
    """The first blocks of ``source``, up to one S3 part, and whether it ended there. (A
    function of its own: no local variable of the caller keeps a block alive afterwards.)"""
    head: list[bytes] = []
    size = 0
    while size < _S3_MIN_PART:
        block = source.read(_CHUNK)
        if not block:
            return head, True
        if progress is not None:
            progress()
        hasher.update(block)
        head.append(block)
        size += len(block)
    return head, False


def _check_digest(hasher: Any, digest: str | None) -> None:
    if digest is not None and hasher.hexdigest() != digest:
        raise UserError(
            f"The uploaded content hashes to {hasher.hexdigest()}, not {digest}: the "
            "digest is wrong or the file changed while being read. Hash the content "
            "again and upload it under that digest."
        )


class _StagedFile(Staged):
    """A partial file, renamed to its target when published."""

    def __init__(self, repository: ArtifactRepository, temporary: str, target: str) -> None:
        self._repository = repository
        self._temporary = temporary
        self._target = target
        self.size = 0

    def publish(self) -> None:
        fs = self._repository._fs
        with self._repository._storage_errors(self._target):
            # The target's folders only now: an upload that dies leaves none behind.
            fs.makedirs(self._target.rsplit("/", 1)[0], exist_ok=True)
            if fs.isdir(self._target):
                # Left empty by an upload under it that died (an older runyard made the folders
                # first): the path's reservation says nothing else is under it.
                fs.rmdir(self._target)
            fs.mv(self._temporary, self._target)

    def discard(self, cause: BaseException) -> None:
        try:
            self._repository._fs.rm_file(self._temporary)
        except FileNotFoundError:
            pass  # never written, or removed by an upload that took this one over
        except OSError as exc:
            cause.add_note(f"Removing the partial file {self._temporary} failed too: {exc!r}")


class _StagedObject(Staged):
    """A small file, held in memory, sent whole (one PUT) when published."""

    def __init__(self, repository: ArtifactRepository, target: str, data: bytes) -> None:
        self._repository = repository
        self._target = target
        self._data = data
        self.size = len(data)

    def publish(self) -> None:
        with self._repository._storage_errors(self._target):
            self._repository._fs.pipe_file(self._target, self._data)

    def discard(self, cause: BaseException) -> None:
        self._data = b""


class _StagedMultipart(Staged):
    """An S3 multipart upload with every part sent, completed when published."""

    def __init__(self, repository: ArtifactRepository, out: Any, target: str) -> None:
        self._repository = repository
        self._out = out
        self._target = target
        self.size = 0

    def publish(self) -> None:
        with self._repository._storage_errors(self._target):
            self._out.commit()

    def discard(self, cause: BaseException) -> None:
        """Abandon the upload, so that neither ``commit()`` nor the file's finaliser completes
        it."""
        try:
            self._out.discard()
        except Exception as exc:
            # The upload's own error is what the caller must see; this one rides along with it.
            cause.add_note(f"Aborting the upload of {self._target} failed too: {exc!r}")
        finally:
            self._out.closed = True


def copy_stream(source: BinaryIO, target: BinaryIO) -> None:
    shutil.copyfileobj(source, target, _CHUNK)
