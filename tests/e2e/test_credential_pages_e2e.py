"""R-AUTH-4 / R-API-2 through the runner: the integration credential list is paginated like every list (`limit`,
`next_token`), oldest first across pages (docs/api-extensions.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api

pytestmark = pytest.mark.e2e


def _pages(api: Api, admin: str, limit: int) -> list[dict[str, Any]]:
    pages, token = [], None
    while True:
        query = f"?limit={limit}" + (f"&next_token={token}" if token else "")
        reply = api.call("GET", "/integrations/credentials" + query, admin)
        assert reply.status == 200, reply
        pages.append(reply.body)
        token = reply.body["next_token"]
        if token is None:
            return pages


def test_r_auth_4_credentials_are_listed_a_page_at_a_time_oldest_first(api: Api) -> None:
    # Given five credentials created a second apart, one of them revoked
    practice = api.new_practice(pm=True)
    admin = practice["admin"]
    created = []
    for n in range(5):
        reply = api.call("POST", "/integrations/credentials", admin, {"name": f"Feed {n}"})
        assert reply.status == 201, reply
        created.append(reply.body["credential_id"])
        api.call("POST", "/_local/clock", body={"advance_seconds": 1})
    assert api.call("DELETE", f"/integrations/credentials/{created[1]}", admin).status == 204
    # When the admin lists them two at a time
    pages = _pages(api, admin, 2)
    # Then three pages (2, 2, 1) hold each credential once, oldest first, the last page without a next_token
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    listed = [item for page in pages for item in page["items"]]
    assert [item["credential_id"] for item in listed] == created
    assert ["revoked_at" in item for item in listed] == [False, True, False, False, False]
    assert not any("client_secret" in item for item in listed)
    # And without a limit one page holds them all (default 50), with next_token null
    whole = api.call("GET", "/integrations/credentials", admin)
    assert [i["credential_id"] for i in whole.body["items"]] == created and whole.body["next_token"] is None


@pytest.mark.parametrize("limit", ["0", "201", "x"])
def test_r_api_1_a_credential_list_limit_out_of_range_is_a_400_naming_limit(api: Api, limit: str) -> None:
    practice = api.new_practice()
    reply = api.call("GET", f"/integrations/credentials?limit={limit}", practice["admin"])
    assert reply.status == 400 and reply.body["error"]["field"] == "limit", reply
