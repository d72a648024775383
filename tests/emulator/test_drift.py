"""Stale catalogue entries: rotated prepackaged file ids and a changed ``modified``."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import CORINE, CORINE_FILE, Client

from fetcher.sources.clms import rules


def files_of(client: Client) -> list[dict[str, Any]]:
    answer = client.call("GET", "@search", params={
        "UID": CORINE, "metadata_fields": ["downloadable_files", "modified"]})
    return list(answer.json()["items"][0]["downloadable_files"]["items"])


def modified_of(client: Client) -> str:
    answer = client.call("GET", "@search", params={"UID": CORINE, "metadata_fields": "modified"})
    return str(answer.json()["items"][0]["modified"])


def test_a_rotated_file_id_is_refused_and_the_new_one_found(client: Client) -> None:
    changed = client.emu.clms.rotate_file_ids(CORINE)
    old = client.post({"DatasetID": CORINE, "FileID": CORINE_FILE})
    assert (400, {"msg": rules.MESSAGES["INVALID_FILE_ID"], "status": "error"}) == (
        old.status_code, old.json())
    new_id = changed[CORINE_FILE]
    assert new_id in [f["@id"] for f in files_of(client)]
    assert 201 == client.post({"DatasetID": CORINE, "FileID": new_id}).status_code


def test_rotating_twice_gives_other_ids_and_touches_modified(client: Client) -> None:
    before = modified_of(client)
    client.emu.clock.advance(600)
    first = client.emu.clms.rotate_file_ids(CORINE)
    second = client.emu.clms.rotate_file_ids(CORINE, touch=False)
    assert first[CORINE_FILE] in second and second[first[CORINE_FILE]] != CORINE_FILE
    assert before != modified_of(client)


def test_set_modified_in_plone_form(client: Client) -> None:
    assert "2024-05-01T10:00:00+00:00" == client.emu.clms.set_modified(CORINE, 1714557600)
    assert "2024-05-01T10:00:00+00:00" == modified_of(client)
    with pytest.raises(KeyError):
        client.emu.clms.set_modified("0" * 32)
