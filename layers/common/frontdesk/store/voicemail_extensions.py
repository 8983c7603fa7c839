"""Voicemail extensions: which reason or custom inbox an extension routes a voicemail to (R-ROUTE-12)."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from frontdesk.domain.routing import VoicemailExtension
from frontdesk.store import keys
from frontdesk.store.base import TableItem


class VoicemailExtensionItem(TableItem, discriminator="VoicemailExtension"):
    practice_id = UnicodeAttribute()
    extension = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    inbox_id = UnicodeAttribute(null=True)

    @staticmethod
    def key(practice_id: str, extension: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), f"VMEXT#{extension}"


def put_extension(practice_id: str, extension: VoicemailExtension) -> None:
    pk, sk = VoicemailExtensionItem.key(practice_id, extension.extension)
    VoicemailExtensionItem(
        pk,
        sk,
        practice_id=practice_id,
        extension=extension.extension,
        reason=extension.reason,
        inbox_id=extension.inbox_id,
    ).save()


def get_extension(practice_id: str, extension: str) -> VoicemailExtension | None:
    try:
        item = VoicemailExtensionItem.get(*VoicemailExtensionItem.key(practice_id, extension))
    except DoesNotExist:
        return None
    return VoicemailExtension(item.extension, item.reason, item.inbox_id)
