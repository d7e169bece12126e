"""RecordStore: replace in place, append last, hand out copies, refuse ids of the wrong type."""

from __future__ import annotations

import pytest

from gateway.simulators.core import Record, RecordStore


def _ids(store: RecordStore, field: str = "id") -> list[object]:
    return [record[field] for record in store]


def test_upsert_replaces_in_place_and_appends_new_records_last() -> None:
    store = RecordStore([{"id": "a", "n": 1}, {"id": "b", "n": 1}, {"id": "c", "n": 1}])

    store.upsert({"id": "b", "n": 2})
    store.upsert({"id": "d", "n": 1})

    assert _ids(store) == ["a", "b", "c", "d"]
    assert [record["n"] for record in store] == [1, 2, 1, 1]
    assert len(store) == 4


def test_other_id_field_and_integer_ids() -> None:
    bots = RecordStore([{"bot_id": "x"}], id_field="bot_id")
    bots.upsert({"bot_id": "x", "name": "renamed"})
    assert bots.records() == [{"bot_id": "x", "name": "renamed"}]

    meetings = RecordStore([{"id": 1}, {"id": 2}], id_type=int)
    meetings.upsert({"id": 1, "title": "changed"})
    meetings.upsert({"id": 3})
    assert meetings.records() == [{"id": 1, "title": "changed"}, {"id": 2}, {"id": 3}]


def test_the_store_keeps_its_own_copies() -> None:
    initial: list[Record] = [{"id": "a", "tags": ["x"]}]
    store = RecordStore(initial)
    initial[0]["tags"].append("from the caller")

    listed = store.records()
    listed[0]["tags"].append("from a listing")
    record: Record = {"id": "b", "tags": ["y"]}
    returned = store.upsert(record)
    record["tags"].append("from the caller")
    returned["tags"].append("from the answer")

    assert store.records() == [{"id": "a", "tags": ["x"]}, {"id": "b", "tags": ["y"]}]


@pytest.mark.parametrize(
    ("id_field", "id_type", "record", "message"),
    [
        ("id", str, {"id": 7}, "id must be a string"),
        ("id", str, {"id": None}, "id must be a string"),
        ("id", int, {"id": "7"}, "id must be an integer"),
        ("id", int, {"id": True}, "id must be an integer"),
        ("bot_id", str, {"bot_id": 7}, "bot_id must be a string"),
    ],
)
def test_an_id_of_the_wrong_type_is_refused(
    id_field: str, id_type: type[str] | type[int], record: Record, message: str
) -> None:
    store = RecordStore([], id_field=id_field, id_type=id_type)

    with pytest.raises(TypeError, match=f"^{message}$"):
        store.upsert(record)
    assert store.records() == []


def test_a_record_without_an_id_is_refused() -> None:
    store = RecordStore([{"id": "a"}])

    with pytest.raises(KeyError):
        store.upsert({"name": "no id"})
    assert store.records() == [{"id": "a"}]
