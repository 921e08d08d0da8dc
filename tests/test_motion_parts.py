"""A `-word` also excludes a motion where the word shows in one of its parts, with a word of the query
(engine/inference/motion_parts.py): the rule on hand-made vectors, and the parts index encoded on the first
query with a `-word`, with its progress stage, then read back from disk."""
import numpy as np
import pytest
import scipy.sparse as sp

from engine.facade import Engine
from engine.index import Salience, SparseIndex
from engine.inference.library_search import LibrarySearch
from engine.inference.motion_parts import MotionParts, part_frames
from tests.test_train_helpers import DATA

LEFT, RIGHT, KICK, WAVE = 1, 2, 3, 4


def parts_of(rows, owners) -> MotionParts:
    vectors = sp.csr_matrix(np.array(rows, dtype=np.float32))
    return MotionParts(SparseIndex.build(vectors, [str(o) for o in owners], vocab_size=8))


def test_a_part_excludes_its_motion_only_with_a_word_of_the_query():
    salience = Salience(top=2, opposites={LEFT: RIGHT, RIGHT: LEFT}, opposite_top=3)
    parts = parts_of([[0, .5, .1, .9, 0, 0, 0, 0],      # motion 0, part 1: a left kick
                      [0, .1, .5, .9, 0, 0, 0, 0],      # motion 0, part 2: a right kick
                      [0, .1, .5, .9, 0, 0, 0, 0],      # motion 1: a right kick only
                      [0, .6, .1, 0, .9, 0, 0, 0]],     # motion 2: a left wave, no kick
                     [0, 0, 1, 2])
    assert parts.owner.tolist() == [0, 0, 1, 2]
    assert parts.excluded([LEFT], [KICK], salience).tolist() == [0]         # `kick -left`: the left kick's motion
    assert parts.excluded([RIGHT], [KICK], salience).tolist() == [0, 1]
    assert parts.excluded([LEFT], [WAVE], salience).tolist() == [2]         # the left wave, not the left kick
    assert parts.excluded([LEFT], [], salience).tolist() == []              # no query word: no part excludes


@pytest.fixture(scope="module")
def engine(tiny_checkpoint):
    return Engine(checkpoint=str(tiny_checkpoint), data=DATA)


def test_parts_are_encoded_on_the_first_negative_query_then_read_back(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLEX_CACHE", str(tmp_path))
    service, dataset = engine.service(), engine.dataset(DATA)
    stages = []
    progress = lambda done, total, name: stages.append(name)      # noqa: E731
    search = LibrarySearch(service.model, service.vocab, dataset, service.dir, service.weights_id, 11, progress)
    assert stages and set(stages) == {"encoding motions"}
    stages.clear()
    search.search_keywords("walk", progress=progress)
    assert stages == [] and search._parts is None                  # a query without `-word` needs no parts
    search.search_keywords("walk -left", progress=progress)
    assert set(stages) == {"encoding motion parts"}
    long = [i for i, c in enumerate(dataset.clips) if len(dataset.motion(c.id).joints) > part_frames(service.model)]
    assert sorted(set(search.part_index().owner.tolist())) == long  # every motion longer than a part has parts
    again = LibrarySearch(service.model, service.vocab, dataset, service.dir, service.weights_id, 11, progress)
    stages.clear()
    again.search_keywords("walk -left", progress=progress)
    assert stages == [] and len(again.part_index().owner) == len(search.part_index().owner)


def test_a_folder_that_cannot_be_written_keeps_the_parts_in_memory(engine, tmp_path, monkeypatch):
    """A read-only checkpoint folder (the shipped library's) must not turn a `-word` query into an error."""
    monkeypatch.setenv("MOTIONLEX_CACHE", str(tmp_path))
    service, dataset = engine.service(), engine.dataset(DATA)

    tried = []

    def read_only(self, directory, fingerprint):
        tried.append(directory)
        raise PermissionError(13, "Permission denied", str(directory))
    monkeypatch.setattr(MotionParts, "save", read_only)
    search = LibrarySearch(service.model, service.vocab, dataset, service.dir, service.weights_id, 13)
    result = search.search_keywords("walk -left")            # no PermissionError reaches the user
    assert tried == [search.root / "parts"] and "hits" in result and search._parts is not None
    search.search_keywords("walk -right")                     # the parts kept in memory: no second attempt
    assert len(tried) == 1


def test_the_index_excludes_the_documents_it_is_given():
    index = SparseIndex.build(sp.csr_matrix(np.array([[1.0, 0, 0], [0.9, 0, 0], [0.8, 0, 0]], dtype=np.float32)),
                              ["a", "b", "c"])
    assert [h.id for h in index.search({0: 1.0}, k=3, excluded_documents=[0, 2])] == ["b"]
    with pytest.raises(ValueError, match="negative_weight"):
        index.search({0: 1.0}, negatives=[1], negative_weight=0.5, excluded_documents=[0])
