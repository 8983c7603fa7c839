"""Object store adapter: S3 (AWS, or the local runner's moto server through S3_ENDPOINT)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any


class S3ObjectStore:
    def __init__(self, client: Any) -> None:
        self._s3 = client

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "text/csv") -> str:
        response = self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return str(response.get("ETag", "")).strip('"')

    def put_file(self, bucket: str, key: str, fileobj: Any, content_type: str = "text/csv") -> None:
        """Uploads from a file object (multipart when large): the caller never holds the whole body."""
        self._s3.upload_fileobj(fileobj, bucket, key, ExtraArgs={"ContentType": content_type})

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def head(self, bucket: str, key: str) -> dict[str, Any]:
        response = self._s3.head_object(Bucket=bucket, Key=key)
        return {"size": int(response["ContentLength"]), "etag": str(response.get("ETag", "")).strip('"')}

    def stream(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yields the object's bytes [start, end) in chunks: memory stays flat whatever the size."""
        request: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if start or end is not None:
            request["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        body = self._s3.get_object(**request)["Body"]
        yield from body.iter_chunks(chunk_size=256 * 1024)


@lru_cache(maxsize=1)
def get_object_store() -> S3ObjectStore:
    import boto3

    from frontdesk.settings import get_settings

    settings = get_settings()
    return S3ObjectStore(boto3.client("s3", endpoint_url=settings.s3_endpoint, region_name=settings.region))
