from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerError,
    DataframerTransportError,
    DataframerValidationError,
)
from airflow_provider_dataframer.idempotency import (
    CLOCK_TOLERANCE,
    Attempt,
    DataframerCreateInDoubtError,
    Journal,
    NewJobCreate,
    send_once,
)
from airflow_provider_dataframer.name_clash import IfExists, NamedCreate, create_named
from airflow_provider_dataframer.retry import RetryPolicy
from airflow_provider_dataframer.status import Phase

log = logging.getLogger("test.idempotency")


@dataclass
class Thing:
    id: str
    name: str
    seed: str | None
    phase: Phase


class FakeServer(NamedCreate[Thing]):
    """A server holding uniquely named things; each create call may be scripted to fail."""

    def __init__(self, name: str, seed: str | None, failures: list[DataframerError] | None = None) -> None:
        super().__init__("thing", name)
        self.seed = seed
        self.things: dict[str, Thing] = {}
        self.failures = failures or []
        self.create_calls = 0
        self.deleted: list[str] = []

    def send(self) -> str:
        self.create_calls += 1
        if self.name in self.things:
            raise DataframerApiError(400, "name already exists", "POST", "/things/")
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None and not getattr(failure, "applied_anyway", False):
            raise failure
        thing = Thing(f"id-{self.create_calls}", self.name, self.seed, Phase.WORKING)
        self.things[self.name] = thing
        if failure is not None:
            raise failure  # the server acted, but the answer was lost
        return thing.id

    def find(self) -> Thing | None:
        return self.things.get(self.name)

    def matches(self, existing: Thing) -> bool:
        return existing.seed == self.seed

    def phase(self, existing: Thing) -> Phase:
        return existing.phase

    def delete(self, existing: Thing) -> None:
        self.deleted.append(existing.id)
        del self.things[existing.name]


def lost(error: DataframerError) -> DataframerError:
    error.applied_anyway = True  # type: ignore[attr-defined]
    return error


POLICY = RetryPolicy(max_retries=2, initial_backoff=0, max_backoff=0)


def run(server: FakeServer, if_exists: IfExists = IfExists.REUSE) -> tuple[str, bool]:
    return create_named(server, if_exists, POLICY, log, sleep=lambda _: None)


def test_plain_create() -> None:
    server = FakeServer("n", "seed")
    assert run(server) == ("id-1", False)


@pytest.mark.parametrize(
    "error",
    [
        DataframerTransportError("POST", "/things/", "ReadTimeout"),
        DataframerTransportError("POST", "/things/", "RemoteProtocolError"),
        DataframerApiError(502, "bad gateway", "POST", "/things/"),
    ],
)
def test_lost_answer_is_adopted_not_duplicated(error: DataframerError) -> None:
    server = FakeServer("n", "seed", failures=[lost(error)])
    assert run(server) == ("id-1", True)
    assert server.create_calls == 1
    assert len(server.things) == 1


def test_ambiguous_failure_that_did_not_create_is_retried() -> None:
    server = FakeServer("n", "seed", failures=[DataframerApiError(503, "down", "POST", "/things/")])
    assert run(server) == ("id-2", False)
    assert server.create_calls == 2


def test_ambiguous_failures_give_up_after_the_retry_budget() -> None:
    failures: list[DataframerError] = [DataframerApiError(500, "down", "POST", "/things/") for _ in range(5)]
    server = FakeServer("n", "seed", failures=failures)
    with pytest.raises(DataframerApiError, match="down"):
        run(server)
    assert server.create_calls == 3


def test_non_ambiguous_errors_are_raised_at_once() -> None:
    server = FakeServer("n", "seed", failures=[DataframerApiError(401, "bad key", "POST", "/things/")])
    with pytest.raises(DataframerApiError, match="bad key"):
        run(server)
    assert server.create_calls == 1


@pytest.mark.parametrize("phase", [Phase.WORKING, Phase.SUCCEEDED])
def test_rerun_reuses_a_matching_working_or_succeeded_thing(phase: Phase) -> None:
    server = FakeServer("n", "seed")
    server.things["n"] = Thing("old", "n", "seed", phase)
    assert run(server) == ("old", True)
    assert not server.deleted


def test_rerun_replaces_a_matching_failed_thing() -> None:
    server = FakeServer("n", "seed")
    server.things["n"] = Thing("old", "n", "seed", Phase.FAILED)
    new_id, adopted = run(server)
    assert server.deleted == ["old"] and not adopted and server.things["n"].id == new_id


def test_replace_recreates_even_a_succeeded_thing() -> None:
    server = FakeServer("n", "seed")
    server.things["n"] = Thing("old", "n", "seed", Phase.SUCCEEDED)
    new_id, adopted = run(server, IfExists.REPLACE)
    assert server.deleted == ["old"] and new_id != "old" and not adopted


@pytest.mark.parametrize("if_exists", list(IfExists))
def test_same_name_other_inputs_is_an_error_and_untouched(if_exists: IfExists) -> None:
    server = FakeServer("n", "seed-b")
    server.things["n"] = Thing("theirs", "n", "seed-a", Phase.SUCCEEDED)
    with pytest.raises(DataframerValidationError, match=r"already exists \(theirs\).*ds_nodash"):
        run(server, if_exists)
    assert not server.deleted and server.things["n"].id == "theirs"


def test_fail_checks_before_creating_and_then_adopts_its_own_lost_answer() -> None:
    server = FakeServer("n", "seed")
    server.things["n"] = Thing("old", "n", "seed", Phase.SUCCEEDED)
    with pytest.raises(DataframerValidationError, match=r"already exists \(old\) and if_exists='fail'"):
        run(server, IfExists.FAIL)
    assert server.create_calls == 0
    fresh = FakeServer("m", "seed", failures=[lost(DataframerTransportError("POST", "/", "ReadError"))])
    assert run(fresh, IfExists.FAIL) == ("id-1", True)


def test_a_refusal_that_is_not_a_clash_is_raised() -> None:
    server = FakeServer("n", "seed", failures=[DataframerApiError(400, "bad field", "POST", "/things/")])
    with pytest.raises(DataframerApiError, match="bad field"):
        run(server)


def test_if_exists_parse_lists_the_choices() -> None:
    assert IfExists.parse("replace") is IfExists.REPLACE
    with pytest.raises(DataframerValidationError, match="'reuse', 'fail', 'replace'"):
        IfExists.parse("overwrite")


def test_reuse_after_a_lost_answer_still_replaces_an_old_failed_thing() -> None:
    """The create never reached the server; what the lookup finds is an earlier try's failure."""
    server = FakeServer("n", "seed", failures=[DataframerApiError(502, "bad gateway", "POST", "/things/")])
    server.things["n"] = Thing("old", "n", "seed", Phase.FAILED)
    server.send = _bypassing_the_clash(server)  # type: ignore[method-assign]
    new_id, adopted = run(server)
    assert server.deleted == ["old"] and not adopted and server.things["n"].id == new_id


def test_replace_looks_first_so_a_lost_answer_is_not_mistaken_for_the_old_thing() -> None:
    server = FakeServer("n", "seed", failures=[lost(DataframerApiError(502, "bad gateway", "POST", "/"))])
    server.things["n"] = Thing("old", "n", "seed", Phase.SUCCEEDED)
    new_id, adopted = run(server, IfExists.REPLACE)
    assert server.deleted == ["old"]
    assert (new_id, adopted) == ("id-1", True), "the new thing, whose answer was lost, is adopted"
    assert server.create_calls == 1


def test_a_lock_timeout_conflict_is_retried() -> None:
    server = FakeServer("n", "seed", failures=[DataframerApiError(409, "lock timeout", "POST", "/things/")])
    assert run(server) == ("id-2", False)
    assert server.create_calls == 2


def test_a_lost_answer_is_not_sent_again_when_the_server_says_not_to() -> None:
    refused = DataframerApiError(500, "do not retry", "POST", "/things/", should_retry=False)
    server = FakeServer("n", "seed", failures=[refused])
    with pytest.raises(DataframerApiError, match="do not retry"):
        run(server)
    assert server.create_calls == 1


def _bypassing_the_clash(server: FakeServer) -> Any:
    """A create that fails as scripted before the server checks the name (as a proxy error does)."""

    def send() -> str:
        server.create_calls += 1
        if server.failures:
            raise server.failures.pop(0)
        server.things[server.name] = Thing(
            f"id-{server.create_calls}", server.name, server.seed, Phase.WORKING
        )
        return server.things[server.name].id

    return send


# Jobs without a name (runs, evaluations, ...): found by what is new, alike and from the right time.


@dataclass
class Job:
    id: str
    samples: int
    created_at: str | None


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


class JobServer:
    """The jobs of one parent; a send may be scripted to be carried out with its answer lost."""

    def __init__(self, jobs: list[Job] | None = None, lose: int = 0) -> None:
        self.jobs = list(jobs or [])
        self.lose = lose
        self.sends = 0
        self.made_meanwhile: list[Job] = []

    def send(self, samples: int) -> str:
        self.sends += 1
        job = Job(f"job-{self.sends}", samples, iso(time.time()))
        self.jobs.append(job)
        self.jobs.extend(self.made_meanwhile)  # concurrent tasks' jobs made while ours was in flight
        if self.lose:
            self.lose -= 1
            raise DataframerTransportError("POST", "/jobs/", "ReadTimeout")
        return job.id

    def create(self, samples: int = 5) -> NewJobCreate[Job]:
        return NewJobCreate(
            "job",
            "of parent P",
            lambda: self.send(samples),
            lambda: list(self.jobs),
            lambda job: job.samples == samples,
        )


class Store:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.history: list[Any] = []

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value
        self.history.append(value)

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def test_a_lost_job_answer_adopts_the_one_new_alike_job_and_ignores_older_and_other_ones() -> None:
    server = JobServer([Job("old", 5, iso(time.time() - 60))], lose=1)
    server.made_meanwhile = [Job("other-params", 7, iso(time.time()))]
    assert send_once(server.create(), POLICY, log, sleep=lambda _: None) == ("job-1", True)
    assert server.sends == 1


def test_two_alike_jobs_made_while_the_answer_was_lost_are_never_guessed_between() -> None:
    server = JobServer(lose=1)
    server.made_meanwhile = [Job("theirs", 5, None)]  # no creation time: it may be ours
    with pytest.raises(DataframerCreateInDoubtError, match=r"2 new jobs of parent P .*job-1, theirs"):
        send_once(server.create(), POLICY, log, sleep=lambda _: None)
    assert server.sends == 1


def test_an_alike_job_created_after_the_answer_was_lost_is_someone_elses() -> None:
    attempt = Attempt(sent_at=1000.0, answered_at=1010.0)
    assert attempt.may_have_made(iso(1010.0 + CLOCK_TOLERANCE))
    assert not attempt.may_have_made(iso(1011.0 + CLOCK_TOLERANCE))
    assert not attempt.may_have_made(iso(999.0 - CLOCK_TOLERANCE))
    assert attempt.may_have_made(None) and attempt.may_have_made("not a time")
    assert Attempt(sent_at=1000.0).may_have_made(iso(5000.0)), "an earlier try's end is unknown"


def test_the_create_in_flight_is_noted_before_sending_and_forgotten_once_answered() -> None:
    server, store = JobServer([Job("old", 5, None)]), Store()
    journal = Journal(store, "job_create_in_flight")
    assert send_once(server.create(), POLICY, log, journal, sleep=lambda _: None) == ("job-1", False)
    (noted,) = store.history
    assert noted["known"] == ["old"] and noted["sent_at"] <= time.time()
    assert store.values == {}


def test_a_retry_adopts_what_an_earlier_try_sent_before_sending_anything() -> None:
    server, store = JobServer([Job("old", 5, None)]), Store()
    journal = Journal(store, "k")
    journal.write(Attempt(time.time() - 5, known=frozenset({"old"})))
    server.jobs.append(Job("orphan", 5, iso(time.time() - 4)))
    assert send_once(server.create(), POLICY, log, journal, sleep=lambda _: None) == ("orphan", True)
    assert server.sends == 0 and store.values == {}


def test_a_retry_whose_earlier_create_made_nothing_sends_it() -> None:
    server, store = JobServer(), Store()
    journal = Journal(store, "k")
    journal.write(Attempt(time.time() - 5, known=frozenset()))
    assert send_once(server.create(), POLICY, log, journal, sleep=lambda _: None) == ("job-1", False)


def test_a_lost_answer_that_cannot_be_looked_for_keeps_the_note_for_the_retry() -> None:
    server, store = JobServer(lose=1), Store()
    create = server.create()
    listings = iter([[], DataframerApiError(503, "down", "GET", "/jobs/")])

    def jobs() -> list[Job]:
        item = next(listings)
        if isinstance(item, Exception):
            raise item
        return item

    create._jobs = jobs  # type: ignore[method-assign]
    with pytest.raises(DataframerError, match="A retry of this task looks for it first") as caught:
        send_once(create, POLICY, log, Journal(store, "k"), sleep=lambda _: None)
    assert not isinstance(caught.value, DataframerCreateInDoubtError)
    assert store.values["k"]["known"] == []
    # Without a journal (Airflow < 3.3) nothing would look for it: the failure is final.
    server2 = JobServer(lose=1)
    create2 = server2.create()
    listings = iter([[], DataframerApiError(503, "down", "GET", "/jobs/")])
    create2._jobs = jobs  # type: ignore[method-assign]
    with pytest.raises(DataframerCreateInDoubtError, match="not retried, so as not to pay twice"):
        send_once(create2, POLICY, log, sleep=lambda _: None)
    assert server2.sends == 1


class ScriptedJobServer(JobServer):
    """Each send answers as scripted: made (answered or lost), or refused (made nothing)."""

    def __init__(self, script: list[str], jobs: list[Job] | None = None) -> None:
        super().__init__(jobs)
        self.script = list(script)
        self.between_sends: list[Job] = []

    def send(self, samples: int) -> str:
        self.sends += 1
        step = self.script.pop(0)
        if step == "refused":  # 429: refused before any work
            self.jobs.extend(self.between_sends)  # another task's alike job, made while we back off
            raise DataframerApiError(429, "slow down", "POST", "/jobs/")
        if step == "lost, made nothing":
            raise DataframerApiError(502, "bad gateway", "POST", "/jobs/")
        job = Job(f"job-{self.sends}", samples, iso(time.time()))
        self.jobs.append(job)
        if step == "lost, made":
            raise DataframerTransportError("POST", "/jobs/", "ReadTimeout")
        return job.id


def test_another_tasks_job_made_between_two_sends_is_never_adopted() -> None:
    # Made while we backed off, seconds before our next send: only the listing before that send
    # tells it apart, since its creation time is within the clock tolerance of the send.
    server = ScriptedJobServer(["refused", "lost, made nothing", "answered"])
    server.between_sends = [Job("theirs", 5, iso(time.time()))]
    assert send_once(server.create(), POLICY, log, sleep=lambda _: None) == ("job-3", False)
    # and when our send did make one, it is ours alone that is adopted, not an error between two
    server = ScriptedJobServer(["refused", "lost, made"])
    server.between_sends = [Job("theirs", 5, iso(time.time()))]
    assert send_once(server.create(), POLICY, log, sleep=lambda _: None) == ("job-2", True)


def test_without_a_listing_from_before_the_send_no_job_is_adopted() -> None:
    server, store = JobServer(), Store()
    journal = Journal(store, "k")
    store.set("k", {"sent_at": time.time() - 5, "known": None})  # noted by an older provider
    server.jobs.append(Job("maybe-ours", 5, iso(time.time() - 4)))
    with pytest.raises(DataframerCreateInDoubtError, match=r"were not listed before it was sent.*maybe-ours"):
        send_once(server.create(), POLICY, log, journal, sleep=lambda _: None)
    assert server.sends == 0
