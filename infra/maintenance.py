"""One-off maintenance of a deployed table, run from an engineer's machine (never in a Lambda, never on a request
path): `frontdesk backfill-index-heads`."""

from __future__ import annotations


def backfill_index_heads() -> int:
    """A head for every PhoneIndex and NameDob partition of a table written before heads existed
    (docs/data-model.md, IndexHead). A Scan, then batch puts; safe to run again. Returns the heads put."""
    from frontdesk.store.base import TableItem
    from frontdesk.store.batch import batch_put
    from frontdesk.store.patients import NameDobItem, PhoneIndexItem, index_head_item

    partitions: dict[str, str] = {}
    condition = TableItem.item_type.is_in(PhoneIndexItem, NameDobItem)
    for item in TableItem.scan(condition, attributes_to_get=["pk", "sk", "practice_id", "type"]):
        partitions.setdefault(item.pk, str(getattr(item, "practice_id", "")))
    return batch_put(index_head_item(practice_id, partition) for partition, practice_id in partitions.items())


def create_support_user(email: str, user_pool_id: str, endpoint_url: str | None = None) -> None:
    """The first support user of a new stack (`frontdesk create-support-user`), with the operator's AWS
    credentials: a user in the `support` group, no practice. Cognito emails the temporary password; the first
    sign-in sets a new password and an authenticator app (MFA is on). 409-like error if the email is taken."""
    import boto3

    from frontdesk.adapters.identity import CognitoDirectory

    client = boto3.client("cognito-idp", endpoint_url=endpoint_url)
    CognitoDirectory(user_pool_id, client, local=False).invite(email.strip(), "support", None, None)
