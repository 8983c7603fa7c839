"""One botocore session and one DynamoDB client per container (issue 13 item 6; docs/performance.md, "one botocore
session"): a client made on a session of its own reloads botocore's endpoint data, lists every service folder and
parses its service model again (~130 ms under load for the Secrets Manager client at each function's first
request), and PynamoDB made a session and a client for every item type a container touched."""

from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import Any

import frontdesk.store
from frontdesk.adapters import aws
from frontdesk.adapters.secret_store import secretsmanager_client
from frontdesk.store.base import TableItem, connection


def _item_types() -> list[type[TableItem]]:
    for module in pkgutil.iter_modules(frontdesk.store.__path__):
        importlib.import_module(f"frontdesk.store.{module.name}")
    found, pending = [], [TableItem]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


def _loader_of(client: Any) -> Any:
    return client._loader  # botocore keeps the loader (the session's) its client was made with


def test_every_item_type_uses_one_connection_and_so_one_dynamodb_client() -> None:
    # Given every item type of the store
    types = _item_types()
    assert len(types) > 20
    # When each is asked for its connection (as each read, write and query does)
    connections = {id(item_type._get_connection()) for item_type in types}
    # Then it is TableItem's, for all of them
    assert connections == {id(TableItem._get_connection())}


def test_the_dynamodb_and_secrets_manager_clients_share_one_botocore_session() -> None:
    # Given the container's one session
    loader = aws.botocore_session().get_component("data_loader")
    # When the models' client, the transactions' client and the Secrets Manager client are made
    clients = [TableItem._get_connection().connection.client, connection().client, secretsmanager_client()]
    # Then all three were made with that session's loader (botocore's data is loaded and parsed once)
    assert [_loader_of(client) is loader for client in clients] == [True, True, True]
    assert clients[0].meta.service_model.service_name == "dynamodb"
    assert clients[2].meta.service_model.service_name == "secretsmanager"


def test_the_secrets_manager_client_is_created_once_per_container() -> None:
    # Given clients asked for from several threads at once (both version stages, concurrent requests)
    got: list[Any] = []
    threads = [threading.Thread(target=lambda: got.append(secretsmanager_client())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then there is one client
    assert len({id(client) for client in [*got, secretsmanager_client()]}) == 1


def test_adapter_clients_keep_their_endpoint_and_region() -> None:
    # Given the settings' endpoint (locally moto's server: PITFALLS, the runner's endpoints)
    from frontdesk.settings import get_settings

    settings = get_settings()
    # When a client is made on the shared session with it
    client = aws.client("secretsmanager", region_name=settings.region, endpoint_url=settings.secrets_endpoint)
    # Then it talks to that endpoint, in that region
    assert client.meta.endpoint_url == settings.secrets_endpoint
    assert client.meta.region_name == settings.region
    assert _loader_of(client) is aws.botocore_session().get_component("data_loader")
