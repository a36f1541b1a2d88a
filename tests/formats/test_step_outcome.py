"""A step's outcome record: kept beside its output, read back only for the output it speaks of."""

from __future__ import annotations

from nightscan_common.formats.step_outcome import StepOutcome, outcome_path, read_outcome, write_outcome


def test_an_outcome_is_read_back_for_the_output_it_was_written_for(tmp_path):
    index = tmp_path / "index.db"
    index.write_bytes(b"an index")
    said = StepOutcome(step=2, status=1, why="1 recording(s) filed under two classes or more",
                       warnings=["class 'bat' has 2 group(s)"], cross_class=[["a/x.wav", "b/x.wav"]])
    write_outcome(index, said)
    assert outcome_path(2, index) == tmp_path / "index.db.outcome.json"
    back = read_outcome(2, index)
    assert back is not None and (back.status, back.why, back.warnings, back.cross_class) == (
        said.status, said.why, said.warnings, said.cross_class)
    index.write_bytes(b"another index")  # a later run's output: the record no longer speaks of it
    assert read_outcome(2, index) is None


def test_a_folder_keeps_its_outcome_in_it_and_a_refused_run_writes_none(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    write_outcome(pool, StepOutcome(step=1, status=0))  # no pool_metadata.json: nothing was written
    assert not outcome_path(1, pool).exists() and read_outcome(1, pool) is None
    (pool / "pool_metadata.json").write_text("{}")
    write_outcome(pool, StepOutcome(step=1, status=0))
    assert [p.name for p in tmp_path.iterdir()] == ["pool"]
    assert sorted(p.name for p in pool.iterdir()) == ["pool_metadata.json", "step_outcome.json"]
    assert read_outcome(1, pool).status == 0 and read_outcome(3, pool) is None
