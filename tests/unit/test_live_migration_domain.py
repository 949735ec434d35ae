"""Live migration as pure decisions, and the pre-copy model the test driver's copy is."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import deadlines
from domain import events as ev
from domain import instance as model
from domain import live_migration as live
from domain import migration as rules
from domain import migration_events as mev
from domain.errors import InvalidInput, InvalidState, NotFound
from tests.unit.test_migration_domain import AT, _apply, booted
from workers.hypervisor.precopy import PreCopy, downtime_steps

S = mev.MigrationStatus
VmState = model.VmState


def started() -> model.Instance:
    state = booted()
    return _apply(state, live.start(state, migration_id="m-1", dest_host="h2",
                                    block_migration=False, request_id="r-live", user_id="u",
                                    at=AT, is_admin=True))


def step(state: model.Instance, ok: bool = True) -> tuple[model.Instance, rules.Consequence]:
    assert state.pending is not None
    outcome = model.complete(state, state.pending.request_id, ok=ok, at=AT,
                             reason="" if ok else "refused")
    assert outcome is not None
    then = rules.consequence(state, outcome)
    after = _apply(state, outcome)
    return (after if then.then is None else _apply(after, then.then)), then


def copying() -> model.Instance:
    state, then = step(started())
    assert isinstance(then.then, mev.InstanceLiveMigrationRunRequested)
    return state


def test_a_live_migration_prepares_on_the_destination_while_the_guest_runs() -> None:
    state = started()
    assert state.pending is not None and state.pending.step is mev.InstanceLiveMigrateRequested
    assert model.status(state.vm_state, state.task_state) == "MIGRATING"
    assert state.migration is not None and state.migration.status == S.PREPARING
    assert state.host == "h1" and state.power_state == model.PowerState.RUNNING


def test_prepared_the_source_copies_with_novas_settings_and_the_models_dirty_rate() -> None:
    state = _apply(booted(), ev.InstanceMetadataUpdated(
        request_id="r-md", at=AT, user_id="u", items={live.DIRTY_RATE_KEY: "250"}))
    state = _apply(state, live.start(state, migration_id="m", dest_host="h2",
                                     block_migration=False, request_id="r", user_id="u", at=AT,
                                     is_admin=True))
    _, then = step(state)
    run = then.then
    assert isinstance(run, mev.InstanceLiveMigrationRunRequested)
    assert (run.host, run.dest_host, run.request_id) == ("h1", "h2", "r:run")
    assert (run.downtime_ms, run.downtime_steps, run.downtime_delay_s,
            run.completion_timeout_s) == (500, 10, 75, 800)
    assert run.dirty_rate_mbps == 250.0


def test_progress_is_recorded_while_the_copy_runs_and_only_then() -> None:
    state = copying()
    assert state.pending is not None
    progress = mev.Progress(memory_total_bytes=10, memory_processed_bytes=4,
                            memory_remaining_bytes=6)
    run = state.pending.request_id
    event = live.progressed(state, run, progress, AT)
    assert event is not None
    state = _apply(state, event)
    assert state.migration is not None and state.migration.progress == progress
    assert live.progressed(state, run, progress, AT) is None  # the same again
    later = _apply(state, live.progressed(state, run, mev.Progress(memory_total_bytes=10),
                                          AT + timedelta(seconds=50)))
    # a copy that reports is alive: its deadline runs from its last report
    assert deadlines.expire_instance(later, AT + timedelta(seconds=70),
                                     timedelta(seconds=60)) is None
    assert live.progressed(state, "r-other", progress, AT) is None
    assert live.progressed(started(), "r-live", progress, AT) is None  # not copying


def test_the_switchover_moves_the_host_once_then_finish_and_cleanup_complete_it() -> None:
    state, then = step(copying())  # copied: the switchover
    assert state.host == "h2" and state.power_state == model.PowerState.PAUSED
    assert isinstance(then.then, mev.InstanceLiveMigrationFinishRequested)
    assert then.then.host == "h2"
    state, then = step(state)
    assert isinstance(then.then, mev.InstanceLiveMigrationCleanupRequested)
    assert then.then.host == "h1" and state.power_state == model.PowerState.RUNNING
    state, then = step(state)
    assert then.release == "h1"
    assert (state.vm_state, state.task_state, state.host) == (VmState.ACTIVE, None, "h2")
    assert state.migration is not None and state.migration.status == S.COMPLETED


def test_force_complete_is_recorded_only_for_a_running_copy() -> None:
    with pytest.raises(InvalidInput, match="preparing"):
        live.force_complete(started(), migration_id=None, request_id="f", user_id="u", at=AT)
    with pytest.raises(InvalidState, match="not migrating"):
        live.force_complete(booted(), migration_id=None, request_id="f", user_id="u", at=AT)
    state = _apply(copying(), live.force_complete(copying(), migration_id="m-1",
                                                  request_id="f", user_id="u", at=AT))
    assert state.migration is not None and state.migration.forced


def test_an_abort_rolls_back_the_destination_then_recovers_the_source_as_cancelled() -> None:
    state = copying()
    state = _apply(state, live.abort(state, migration_id="m-1", request_id="a", user_id="u",
                                     at=AT))
    with pytest.raises(InvalidInput, match="Cannot abort"):
        live.abort(state, migration_id="m-1", request_id="a2", user_id="u", at=AT)
    state, then = step(state, ok=False)  # the copy stopped: cancelled
    assert isinstance(then.then, mev.InstanceLiveMigrationRollbackRequested)
    assert then.then.host == "h2" and state.host == "h1"
    state, then = step(state)
    assert isinstance(then.then, mev.InstanceLiveMigrationRecoverRequested)
    assert then.then.host == "h1" and then.release == "h2"
    state, then = step(state)
    assert (state.vm_state, state.task_state, state.host) == (VmState.ACTIVE, None, "h1")
    assert state.migration is not None and state.migration.status == S.CANCELLED


def test_an_abort_of_another_migration_id_is_not_found() -> None:
    with pytest.raises(NotFound, match="not found"):
        live.abort(copying(), migration_id="m-other", request_id="a", user_id="u", at=AT)


def test_a_copy_whose_host_never_answers_is_rolled_back_as_failed() -> None:
    state = copying()
    expired = deadlines.expire_instance(state, AT + timedelta(seconds=61), timedelta(seconds=60))
    assert isinstance(expired, mev.InstanceMigrationFailed)
    assert isinstance(rules.consequence(state, expired).then,
                      mev.InstanceLiveMigrationRollbackRequested)
    state, _ = step(state, ok=False)
    state, _ = step(state)
    state, _ = step(state)
    assert state.migration is not None and state.migration.status == S.FAILED
    assert state.vm_state == VmState.ACTIVE and state.host == "h1"


def test_after_the_switchover_a_failed_finish_never_goes_back_to_the_source() -> None:
    state, _ = step(copying())
    state, then = step(state, ok=False)
    assert isinstance(then.then, mev.InstanceLiveMigrationCleanupRequested)
    assert state.host == "h2" and state.vm_state == VmState.ERROR
    state, then = step(state)
    assert then.release == "h1" and state.vm_state == VmState.ERROR and state.host == "h2"


def test_a_failed_cleanup_keeps_the_sources_claim() -> None:
    state, _ = step(step(copying())[0])
    state, then = step(state, ok=False)
    assert then.release == "" and then.then is None
    assert (state.vm_state, state.task_state, state.host) == (VmState.ACTIVE, None, "h2")


def test_only_an_active_server_live_migrates_and_never_to_its_own_host() -> None:
    with pytest.raises(InvalidInput, match="current host"):
        live.start(booted(), migration_id="m", dest_host="h1", block_migration=False,
                   request_id="r", user_id="u", at=AT, is_admin=True)
    with pytest.raises(InvalidState, match="vm_state stopped"):
        live.start(booted(VmState.STOPPED), migration_id="m", dest_host="h2",
                   block_migration=False, request_id="r", user_id="u", at=AT, is_admin=True)
    with pytest.raises(InvalidState, match="task_state migrating"):
        live.start(started(), migration_id="m", dest_host="h2", block_migration=False,
                   request_id="r", user_id="u", at=AT, is_admin=True)


def test_novas_downtime_steps_grow_to_the_allowed_downtime() -> None:
    steps = downtime_steps(1.0, 500, 10, 75)
    assert steps[0] == (0, 50.0) and steps[-1] == (750, 500.0) and len(steps) == 11


@pytest.mark.parametrize(("dirty", "converges"), [(0, True), (50, True), (400, False)])
def test_the_pre_copy_converges_only_when_the_guest_writes_slower_than_the_link(
        dirty: float, converges: bool) -> None:
    rounds = list(PreCopy(memory_mb=1024, dirty_rate_mbps=dirty).rounds())
    assert rounds[-1].converged is converges and rounds[-1].timed_out is not converges
    assert all(r.processed_bytes >= r.total_bytes for r in rounds)


def test_forcing_the_copy_converges_it_at_the_next_round() -> None:
    forced = [False]
    rounds = PreCopy(memory_mb=1024, dirty_rate_mbps=400).rounds(forced)
    first = next(rounds)
    assert not first.converged and first.remaining_bytes == first.total_bytes
    forced[0] = True
    last = next(rounds)
    assert last.converged and last.remaining_bytes == 0


def test_the_convergence_bench_prints_a_row_per_dirty_rate(
        capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bench import live_migration as bench

    assert bench.main(["--memory-mb", "512", "--dirty", "0,400", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["converged"] for r in printed["free"]] == [True, False]
    assert [r["converged"] for r in printed["forced_after_first_round"]] == [True, True]
