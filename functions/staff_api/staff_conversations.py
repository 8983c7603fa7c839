"""Routes: inboxes, conversations, staff replies, assignment, notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from frontdesk.adapters.clock import iso
from frontdesk.auth import STAFF_ROLES
from frontdesk.http import Access, caller, check_body_size, error_responses, json_response, ok_response
from frontdesk.schemas import ApiModel, BodyText, Flag
from frontdesk.store.page_tokens import PageScope, decode_token, encode_token
from frontdesk.store.pagination import clamp_limit

if TYPE_CHECKING:  # the stores load with the service, in the route that needs them (docs/performance.md)
    from frontdesk.domain.conversations import Conversation, Message
    from frontdesk.domain.listings import Listing

# Each route imports its service when called: a cold start loads the code of the route it serves, not of all the
# others (docs/performance.md).
router = APIGatewayHttpRouter()
ACCESS: Access = {
    "GET /inboxes/unassigned/conversations": STAFF_ROLES,
    "GET /inboxes/mine/conversations": STAFF_ROLES,
    "GET /inboxes/{inbox_id}/conversations": STAFF_ROLES,
    "GET /conversations/{conversation_id}": STAFF_ROLES,
    "POST /conversations/{conversation_id}/messages": STAFF_ROLES,
    "POST /conversations/{conversation_id}/assign": STAFF_ROLES,
    "POST /conversations/{conversation_id}/close": STAFF_ROLES,
    "GET /staff/me/notifications": STAFF_ROLES,
}
Id = Annotated[str, Path(max_length=64)]
Limit = Annotated[int | None, Query(ge=1, le=200)]
NextToken = Annotated[str | None, Query(max_length=2000)]


class HolderOut(ApiModel):
    type: str
    id: str | None = None


class LabelsOut(ApiModel):
    reason: str | None = None
    location: str | None = None


class CustomListingOut(ApiModel):
    conversation_id: str
    patient_id: str
    status: str
    holder: HolderOut
    last_message_at: str


class ListingOut(CustomListingOut):
    labels: LabelsOut


class InboxPageOut(ApiModel):
    items: list[ListingOut]
    next_token: str | None = None


class CustomInboxPageOut(ApiModel):
    """R-ROUTE-9: custom shared inboxes show no labels."""

    items: list[CustomListingOut]
    next_token: str | None = None


class RoutingExplanationOut(ApiModel):
    """Extension (docs/api-extensions.md): why a routed message went where it went."""

    model_config = ConfigDict(extra="allow")
    rule: str
    dimensions: list[str]
    reason: str | None = None
    reason_bucket: str
    reason_source: str
    location: str | None = None
    location_bucket: str
    location_source: str
    holder: HolderOut
    recipients: list[str]
    routed_at: str


class MessageOut(ApiModel):
    message_id: str
    sender: str
    channel: str
    body: str
    reason: str | None = None
    kind: str | None = None
    ambiguous_sender: bool | None = None
    internal: bool | None = None
    author_id: str | None = None
    recording_url: str | None = None
    extension: str | None = None
    routing: RoutingExplanationOut | None = None
    created_at: str


class ConversationOut(ApiModel):
    conversation_id: str
    patient_id: str
    status: str
    holder: HolderOut | None
    labels: LabelsOut
    messages: list[MessageOut]
    next_token: str | None = None


class ReplyIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    body: BodyText = Field(min_length=1, max_length=10_240)
    internal: Flag = False


class AssignIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str | None = Field(default=None, max_length=64)
    inbox_id: str | None = Field(default=None, max_length=64)
    unassigned: Flag = False


class StateOut(ApiModel):
    conversation_id: str
    status: str
    holder: HolderOut | None


class NotificationOut(ApiModel):
    notification_id: str
    type: str
    conversation_id: str
    created_at: str


class NotificationsOut(ApiModel):
    items: list[NotificationOut]
    next_token: str | None = None


def _holder(holder_type: str | None, holder_id: str | None) -> dict[str, Any] | None:
    return {"type": holder_type, "id": holder_id} if holder_type else None


def _listing(item: Listing, labels: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "conversation_id": item.conversation_id,
        "patient_id": item.patient_id,
        "status": item.status,
        "holder": _holder(item.holder_type, item.holder_id),
        "last_message_at": iso(item.last_message_at),
    }
    if labels:  # R-ROUTE-9: labels in Unassigned and a staff member's own inbox, never in custom shared inboxes
        out["labels"] = {"reason": item.reason, "location": item.location}
    return out


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {
        "message_id": message.message_id,
        "sender": message.sender,
        "channel": message.channel,
        "body": message.body,
        "reason": message.reason,
        "kind": message.kind,
        "created_at": iso(message.created_at),
    }
    if message.ambiguous_sender:
        out["ambiguous_sender"] = True
    if message.internal:
        out["internal"] = True
    if message.author_id:
        out["author_id"] = message.author_id
    for name in ("recording_url", "extension"):
        if message.extra.get(name):
            out[name] = str(message.extra[name])
    if message.routing:
        out["routing"] = message.routing
    return out


def _state(conversation: Conversation) -> dict[str, Any]:
    return {
        "conversation_id": conversation.conversation_id,
        "status": conversation.status,
        "holder": _holder(conversation.holder_type, conversation.holder_id),
    }


def _inbox(inbox: str, limit: int | None, next_token: str | None) -> Response[Any]:
    from frontdesk.services import conversations as service

    who = caller(router)
    # "mine" is the caller's own list: a colleague's token for it is foreign (R-API-2)
    scope = PageScope(who.practice_id or "", f"inbox#{inbox}", (who.staff_id or who.sub) if inbox == "mine" else "")
    page = service.list_inbox(who, inbox, clamp_limit(limit), decode_token(next_token, scope))
    return json_response(
        200, {"items": [_listing(i, page.labels) for i in page.items], "next_token": encode_token(page.next_key, scope)}
    )


@router.get("/inboxes/unassigned/conversations", responses={**ok_response(InboxPageOut), **error_responses(403)})
def unassigned_inbox(limit: Limit = None, next_token: NextToken = None) -> Response[InboxPageOut]:
    return _inbox("unassigned", limit, next_token)


@router.get("/inboxes/mine/conversations", responses={**ok_response(InboxPageOut), **error_responses(403)})
def my_inbox(limit: Limit = None, next_token: NextToken = None) -> Response[InboxPageOut]:
    return _inbox("mine", limit, next_token)


@router.get(
    "/inboxes/<inbox_id>/conversations", responses={**ok_response(CustomInboxPageOut), **error_responses(403, 404)}
)
def custom_inbox(inbox_id: Id, limit: Limit = None, next_token: NextToken = None) -> Response[CustomInboxPageOut]:
    return _inbox(inbox_id, limit, next_token)


@router.get("/conversations/<conversation_id>", responses={**ok_response(ConversationOut), **error_responses(403, 404)})
def get_conversation(
    conversation_id: Id, limit: Limit = None, next_token: NextToken = None
) -> Response[ConversationOut]:
    from frontdesk.services import conversations as service

    who = caller(router)
    scope = PageScope(who.practice_id or "", f"conversation#{conversation_id}")
    view = service.read_conversation(who, conversation_id, clamp_limit(limit or 200), decode_token(next_token, scope))
    conversation = view.conversation
    return json_response(
        200,
        {
            **_state(conversation),
            "patient_id": conversation.patient_id,
            "labels": {"reason": conversation.reason, "location": conversation.location},
            "messages": [_message(m) for m in view.messages],
            "next_token": encode_token(view.next_key, scope),
        },
    )


@router.post(
    "/conversations/<conversation_id>/messages",
    responses={**ok_response(MessageOut, 201), **error_responses(403, 404, 409, 413)},
)
def post_reply(conversation_id: Id, body: Annotated[ReplyIn, Body()]) -> Response[MessageOut]:
    from frontdesk.services import conversations as service

    who = caller(router)
    check_body_size(router)
    message, at = service.reply(who, conversation_id, body.body, body.internal)
    out: dict[str, Any] = {
        "message_id": message.message_id,
        "sender": message.sender,
        "channel": message.channel,
        "body": message.body,
        "author_id": who.staff_id,
        "created_at": iso(at),
    }
    if body.internal:
        out["internal"] = True
    return json_response(201, out)


@router.post(
    "/conversations/<conversation_id>/assign", responses={**ok_response(StateOut), **error_responses(403, 404, 409)}
)
def assign(conversation_id: Id, body: Annotated[AssignIn, Body()]) -> Response[StateOut]:
    from frontdesk.services import conversations as service

    who = caller(router)
    conversation = service.assign(
        who, conversation_id, staff_id=body.staff_id, inbox_id=body.inbox_id, unassigned=body.unassigned
    )
    return json_response(200, _state(conversation))


@router.post(
    "/conversations/<conversation_id>/close", responses={**ok_response(StateOut), **error_responses(403, 404, 409)}
)
def close(conversation_id: Id) -> Response[StateOut]:
    from frontdesk.services import conversations as service

    who = caller(router)
    return json_response(200, _state(service.close(who, conversation_id)))


@router.get("/staff/me/notifications", responses={**ok_response(NotificationsOut), **error_responses(403)})
def notifications(limit: Limit = None, next_token: NextToken = None) -> Response[NotificationsOut]:
    from frontdesk.services import conversations as service

    who = caller(router)
    scope = PageScope(who.practice_id or "", "notifications", who.staff_id or who.sub)
    items, next_key = service.notifications(who, clamp_limit(limit), decode_token(next_token, scope))
    return json_response(
        200,
        {
            "items": [
                {
                    "notification_id": n.notification_id,
                    "type": n.type,
                    "conversation_id": n.conversation_id,
                    "created_at": iso(n.created_at),
                }
                for n in items
            ],
            "next_token": encode_token(next_key, scope),
        },
    )
