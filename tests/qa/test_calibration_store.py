"""The calibrator kept in the store (`store.values`): found before the data directory's file and the
shipped one, on every backend, and shared by every pipeline ("replica") on one PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.store import StoreConfig, open_store
from qa import calibration
from qa.pipeline import Pipeline
from tests.index.store_contract import DIM
from tests.qa.test_calibration import synthetic


def fitted(reader: str, embedder: str, seed: int = 0) -> calibration.Calibrator:
    rows, labels = synthetic(seed=seed)
    return calibration.fit(rows, labels, reader=reader, embedder=embedder, fitted_on=f"seed {seed}")


@pytest.fixture(params=["memory", "sqlite-faiss", "postgres"])
def open_index(request, tmp_path):
    """Opens a store on one index (a second open is another process's view of it; memory: none)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    opened = []

    def open_(read_only: bool = False):
        config = StoreConfig(tmp_path / "index", DIM, "test", backend=request.param, database_url=url)
        opened.append(
            open_store(config if not read_only else config.__class__(**{**config.__dict__, "read_only": True}))
        )
        return opened[-1]

    open_.backend = request.param
    yield open_
    for store in opened:
        store.close()


def test_the_store_comes_first_then_the_data_dir_then_the_shipped_one(open_index, tmp_path: Path) -> None:
    store = open_index()
    data_dir = tmp_path / "data"
    shipped = calibration.find_calibrator(data_dir, "spanqa-reader-minilm-squad2", "e", store.values)
    assert shipped is None  # the shipped one is for another embedder
    in_dir = fitted("my-reader", "e", seed=1)
    calibration.save(in_dir, data_dir / calibration.CALIBRATION_FILE)
    assert calibration.find_calibrator(data_dir, "my-reader", "e", store.values) == in_dir
    in_store = fitted("my-reader", "e", seed=2)
    calibration.store_calibrator(in_store, store.values)
    assert calibration.find_calibrator(data_dir, "my-reader", "e", store.values) == in_store
    assert calibration.find_calibrator(data_dir, "my-reader", "e") == in_dir  # no store: the file
    calibration.store_calibrator(fitted("other-reader", "e"), store.values)  # not for this reader: passed over
    assert calibration.find_calibrator(data_dir, "my-reader", "e", store.values) == in_dir
    store.values.put(calibration.STORE_KEY, "{not json")
    assert calibration.find_calibrator(data_dir, "my-reader", "e", store.values) == in_dir
    if open_index.backend != "memory":  # another process on the index (read-only here) finds the stored one
        calibration.store_calibrator(in_store, store.values)
        other = open_index(read_only=True)
        assert calibration.find_calibrator(tmp_path / "elsewhere", "my-reader", "e", other.values) == in_store


def test_pipelines_on_one_database_share_the_stored_calibrator(
    postgres_url, base_settings, embedder, reader, tmp_path: Path
) -> None:
    stores = []

    def replica(n: int) -> Pipeline:
        settings = base_settings.model_copy(update={"data_dir": tmp_path / f"data-{n}", "database_url": postgres_url})
        config = StoreConfig(settings.data_dir, embedder.dimension, embedder.identity, database_url=postgres_url)
        stores.append(open_store(config))
        return Pipeline(settings, embedder, reader, stores[-1])

    first = replica(0)
    try:
        shipped = first.calibrator  # none stored yet: the shipped one for this reader and embedder
        assert shipped is not None and shipped.fitted_on
        ours = fitted(shipped.reader, shipped.embedder, seed=3)
        calibration.store_calibrator(ours, stores[0].values)
        second = replica(1)  # another replica, its own data directory, started after `spanqa calibrate`
        try:
            assert second.calibrator == ours and second.calibrator != shipped
        finally:
            second.close()
    finally:
        first.close()


def test_a_collection_uses_its_own_stored_calibrator_else_defaults(
    base_settings, embedder, reader, tmp_path: Path
) -> None:
    from qa.collections import create_collection

    settings = base_settings.model_copy(update={"data_dir": tmp_path / "data"})

    def keep(calibrator: calibration.Calibrator, collection: str) -> None:  # what `spanqa calibrate` does
        config = StoreConfig(settings.data_dir, embedder.dimension, embedder.identity, collection=collection)
        store = open_store(config)
        try:
            calibration.store_calibrator(calibrator, store.values)
        finally:
            store.close()

    Pipeline(settings, embedder, reader).close()  # creates the index
    create_collection(settings, "team-a")
    shipped = Pipeline(settings, embedder, reader)
    try:
        assert shipped.calibrator is not None
        reader_name, embedder_name = shipped.calibrator.reader, shipped.calibrator.embedder
    finally:
        shipped.close()
    ours, theirs = fitted(reader_name, embedder_name, seed=4), fitted(reader_name, embedder_name, seed=5)
    keep(ours, "default")
    default = Pipeline(settings, embedder, reader)
    try:
        with_none_of_its_own = default.in_collection("team-a")
        try:
            assert default.calibrator == ours and with_none_of_its_own.calibrator == ours
        finally:
            with_none_of_its_own.close()
        keep(theirs, "team-a")
        with_its_own = default.in_collection("team-a")
        try:
            assert with_its_own.calibrator == theirs and default.calibrator == ours
        finally:
            with_its_own.close()
    finally:
        default.close()
