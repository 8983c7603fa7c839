"""The S3 object store adapter against moto's S3 server: reports upload in bounded parts (R-IMPORT-3, R-IMPORT-5)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from frontdesk.adapters.objects import PART_BYTES, S3ObjectStore
from tests.conftest import IMPORTS_BUCKET

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "size", [0, 1000, PART_BYTES, 2 * PART_BYTES + 17], ids=["empty", "small", "one-part", "three"]
)
def test_put_file_stores_exactly_the_bytes_of_any_size(s3: Any, size: int) -> None:
    body = bytes((n * 7) % 251 for n in range(size))
    store = S3ObjectStore(s3)
    store.put_file(IMPORTS_BUCKET, f"objects/{size}.csv", io.BytesIO(body))
    stored = s3.get_object(Bucket=IMPORTS_BUCKET, Key=f"objects/{size}.csv")
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "text/csv"
    multipart = "-" in stored["ETag"]  # S3 marks a multipart object's ETag with its part count
    assert multipart == (size > PART_BYTES)


def test_a_failed_part_aborts_the_upload_and_leaves_no_object(s3: Any) -> None:
    class FailingBody(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= PART_BYTES:
                raise OSError("disk gone")
            return super().read(size)

    with pytest.raises(OSError):
        S3ObjectStore(s3).put_file(IMPORTS_BUCKET, "objects/failed.csv", FailingBody(b"x" * (2 * PART_BYTES)))
    assert s3.list_multipart_uploads(Bucket=IMPORTS_BUCKET).get("Uploads", []) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=IMPORTS_BUCKET, Prefix="objects/failed.csv")
