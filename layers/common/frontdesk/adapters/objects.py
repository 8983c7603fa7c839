"""Object store adapter: S3 (AWS, or the local runner's moto server through S3_ENDPOINT)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import IO, Any

PART_BYTES = 5 * 1024 * 1024  # S3's smallest multipart part


class S3ObjectStore:
    def __init__(self, client: Any) -> None:
        self._s3 = client

    def put(self, bucket: str, key: str, body: bytes, content_type: str = "text/csv") -> str:
        response = self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        return str(response.get("ETag", "")).strip('"')

    def put_file(self, bucket: str, key: str, fileobj: IO[bytes], content_type: str = "text/csv") -> None:
        """Uploads a seekable file object one part at a time: memory holds one PART_BYTES part, whatever the size.

        Not upload_fileobj: its transfer manager reads up to 10 parts ahead on its threads, and a file below its
        multipart threshold whole, several times over (a 200,000-row import's report raised the import's peak
        memory by about 55 MB; docs/performance.md).
        """
        size = fileobj.seek(0, 2)
        fileobj.seek(0)
        if size <= PART_BYTES:
            self._s3.put_object(Bucket=bucket, Key=key, Body=fileobj.read(), ContentType=content_type)
            return
        upload_id = self._s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)["UploadId"]
        try:
            parts = []
            for number, part in enumerate(iter(lambda: fileobj.read(PART_BYTES), b""), start=1):
                answer = self._s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=part)
                parts.append({"ETag": answer["ETag"], "PartNumber": number})
            self._s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except Exception:
            self._s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise

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
    from frontdesk.adapters import aws
    from frontdesk.settings import get_settings

    settings = get_settings()
    return S3ObjectStore(aws.client("s3", endpoint_url=settings.s3_endpoint, region_name=settings.region))


def upload_file(path: str, bucket: str, key: str) -> str:
    """The operator CLI's upload to AWS (its default credentials and region, the transfer manager); the ETag."""
    import boto3

    s3 = boto3.client("s3")
    s3.upload_file(path, bucket, key)
    return str(s3.head_object(Bucket=bucket, Key=key)["ETag"]).strip('"')
