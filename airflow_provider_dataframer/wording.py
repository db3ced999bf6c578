"""The words of a wait: the log lines and messages about an object waited for."""

from __future__ import annotations

from airflow_provider_dataframer.models import StatusResource


def describe(noun: str, resource: StatusResource) -> str:
    """A one-line account of ``resource`` for the task log ("Dataframer run ... is PROCESSING (...)")."""
    progress = resource.progress()
    text = f"Dataframer {noun} {resource.id} is {resource.status or 'without status'}"
    return f"{text} ({progress})" if progress else text


def succeeded(noun: str, resource: StatusResource) -> str:
    """The message of a successful end."""
    return f"Dataframer {noun} {resource.id} {resource.status}"


def failure_message(noun: str, resource: StatusResource) -> str:
    """The message of a terminal failure, with the server's ``error`` text."""
    text = f"Dataframer {noun} {resource.id} ended {resource.status}"
    if resource.error:
        text = f"{text}: {resource.error}"
    elif noun == "run":
        text = f"{text} (the API gives no reason for a run: see the run in Dataframer)"
    else:
        text = f"{text}: the server gave no error message"
    progress = resource.progress()
    return f"{text} ({progress})" if progress else text


def unknown_status(report: str) -> str:
    """The warning for a status this provider does not know."""
    return f"{report}, a status this provider does not know; waiting on."


def gone(noun: str, resource_id: str) -> str:
    """The message of a wait whose object disappeared (HTTP 404)."""
    return (
        f"Dataframer {noun} {resource_id} no longer exists (HTTP 404): "
        "it was deleted, or the connection points at another account."
    )


def poll_failed(noun: str, resource_id: str, error: Exception) -> str:
    """The message of a wait ended by an error that is not transient."""
    return f"Waiting for Dataframer {noun} {resource_id} failed: {error}"


def timed_out(noun: str, resource_id: str, last_status: str | None) -> str:
    """The message of a wait that reached its deadline."""
    last = f"; last status {last_status}" if last_status else ""
    return (
        f"Timed out waiting for Dataframer {noun} {resource_id} to finish{last}. "
        f"It may still be running; raise `timeout` or wait on it with a sensor."
    )
