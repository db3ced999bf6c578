"""Extra links from a task's page in the Airflow UI to the spec or run in the Dataframer app.

The id comes from the task's XCom (``spec_id`` or ``run_id``, pushed as soon as it is known), the
app's address from the task's Dataframer connection: its extra ``app_url`` when set, otherwise
derived from the API base URL (``https://df-api.dataframer.ai`` -> ``https://app.dataframer.ai``;
any other deployment: its base URL itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from airflow.providers.common.compat.sdk import BaseHook, BaseOperatorLink, XCom

from airflow_provider_dataframer.connection_extras import set_extras
from airflow_provider_dataframer.exceptions import DataframerConfigError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook, base_url_from
from airflow_provider_dataframer.models import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

APP_URL_EXTRA = "app_url"
API_HOST_PREFIXES = ("df-api.", "api.")


def app_url_from(base_url: str, app_url: str | None = None) -> str:
    """
    The Dataframer app's address for an API base URL.

    :param base_url: the API base URL of the connection.
    :param app_url: an explicit app address (the connection extra ``app_url``), which wins.
    """
    if app_url:
        return app_url.strip().rstrip("/")
    url = httpx.URL(base_url)
    for prefix in API_HOST_PREFIXES:
        if url.host.startswith(prefix):
            app_host = "app." + url.host[len(prefix) :]
            return str(url.copy_with(host=app_host, path="/", query=None)).rstrip("/")
    return base_url.rstrip("/")


def app_url_for_connection(conn_id: str) -> str:
    """The app's address for an Airflow connection (the public app when it cannot be read)."""
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # a link must render even when the connection is gone
        return app_url_from(DEFAULT_BASE_URL)
    extra = set_extras(conn.extra_dejson)
    try:
        base_url = base_url_from(conn.host, conn.schema, conn.port)
    except DataframerConfigError:  # the task itself reported the bad connection
        base_url = DEFAULT_BASE_URL
    return app_url_from(base_url, extra.get(APP_URL_EXTRA))


class DataframerResourceLink(BaseOperatorLink):
    """
    A link to the app page of the spec or run whose id the task pushed to XCom.

    Subclasses name the XCom key and the app page; on Airflow 2 the link is built by the webserver,
    on Airflow 3 by the worker when the task finishes, through the same ``get_link``.
    """

    name: ClassVar[str]  # type: ignore[misc]
    id_key: ClassVar[str]
    page: ClassVar[str]

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        resource_id = XCom.get_value(ti_key=ti_key, key=self.id_key)
        if not resource_id:
            return ""
        conn_id = getattr(operator, "dataframer_conn_id", None) or DataframerHook.default_conn_name
        return f"{app_url_for_connection(conn_id)}/{self.page}/{resource_id}"


class DataframerSpecLink(DataframerResourceLink):
    """The "Dataframer Spec" button: the spec's page in the Dataframer app."""

    name = "Dataframer Spec"
    id_key = "spec_id"
    page = "specs"


class DataframerRunLink(DataframerResourceLink):
    """The "Dataframer Run" button: the run's page in the Dataframer app."""

    name = "Dataframer Run"
    id_key = "run_id"
    page = "runs"


# Platform jobs. The app's page paths below follow the API's collection names, as specs and runs
# do; a deployment whose app names them otherwise can override ``page`` in a subclass.


class DataframerEvaluationLink(DataframerResourceLink):
    """The "Dataframer Evaluation" button: the evaluation's page in the Dataframer app."""

    name = "Dataframer Evaluation"
    id_key = "evaluation_id"
    page = "evaluations"


class DataframerAnonymizationLink(DataframerResourceLink):
    """The "Dataframer Anonymization" button: the anonymization run's page in the Dataframer app."""

    name = "Dataframer Anonymization"
    id_key = "anonymization_run_id"
    page = "anonymization-runs"


class DataframerRedTeamSpecLink(DataframerResourceLink):
    """The "Dataframer Red-Team Spec" button: the red-team spec's page in the Dataframer app."""

    name = "Dataframer Red-Team Spec"
    id_key = "red_team_spec_id"
    page = "red-team-specs"


class DataframerRedTeamRunLink(DataframerResourceLink):
    """The "Dataframer Red-Team Run" button: the red-team run's page in the Dataframer app."""

    name = "Dataframer Red-Team Run"
    id_key = "red_team_run_id"
    page = "red-team-runs"
