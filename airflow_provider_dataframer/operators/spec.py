"""Operators that create Dataframer specs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseHook, BaseOperator, conf

from airflow_provider_dataframer import lineage
from airflow_provider_dataframer.arguments import DEFAULT_TIMEOUT
from airflow_provider_dataframer.exceptions import DataframerApiError, DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import SPEC
from airflow_provider_dataframer.links import DataframerSpecLink
from airflow_provider_dataframer.models import DATABRICKS_FIELDS, Spec, SpecCreateRequest, is_known_model
from airflow_provider_dataframer.name_clash import IfExists, NamedCreate, create_named
from airflow_provider_dataframer.operators.base import DataframerCreateOperator
from airflow_provider_dataframer.scrubbing import register_secret
from airflow_provider_dataframer.status import Phase

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger


class SpecCreate(NamedCreate[Spec]):
    """The create of one spec, made safe to repeat by its unique name."""

    def __init__(self, hook: DataframerHook, request: SpecCreateRequest) -> None:
        super().__init__("spec", request.name)
        self.hook = hook
        self.request = request

    def send(self) -> str:
        return self.hook.create_spec(self.request)

    def find(self) -> Spec | None:
        # The service scopes a spec's name to its dataset (or to the seedless specs): a same-named
        # spec of another dataset is another spec, never a clash, and is not found here.
        return next((spec for spec in self.hook.list_specs() if self._same_slot(spec)), None)

    def _same_slot(self, spec: Spec) -> bool:
        return spec.name == self.name and _dataset_key(spec.dataset_id) == _dataset_key(
            self.request.dataset_id
        )

    def matches(self, existing: Spec) -> bool:
        # Name and dataset are all that make a spec this task's: ``find`` only returns such a one.
        return True

    def phase(self, existing: Spec) -> Phase:
        return SPEC.phase(existing.status)

    def delete(self, existing: Spec) -> None:
        # Never with force: replacing a spec must not delete the data generated from it.
        try:
            self.hook.delete_spec(existing.id)
        except DataframerApiError as exc:
            if exc.http_status not in (400, 409):
                raise
            raise DataframerValidationError(
                f"Spec {existing.id} named {self.name!r} cannot be replaced: {exc.message} "
                "if_exists='replace' never deletes generated runs: delete the spec with its runs "
                "yourself, or give this task a unique, templated name such as "
                f"'{self.name}-{{{{ ds_nodash }}}}'."
            ) from exc


def _dataset_key(dataset_id: str | None) -> str | None:
    if not dataset_id:
        return None
    return dataset_id.strip().lower()


def databricks_fields_from_connection(conn_id: str) -> dict[str, str | None]:
    """
    Read databricks credentials from an Airflow connection.

    The login is the client id, the password the client secret; the serving-endpoints URL is the
    extra ``api_base``, or ``<host>/serving-endpoints``.
    """
    conn = BaseHook.get_connection(conn_id)
    register_secret(conn.password)
    api_base = (conn.extra_dejson or {}).get("api_base")
    if not api_base and conn.host:
        host = conn.host if "://" in conn.host else f"https://{conn.host}"
        api_base = f"{host.rstrip('/')}/serving-endpoints"
    return {
        "databricks_client_id": conn.login,
        "databricks_client_secret": conn.password,
        "databricks_api_base": api_base,
    }


class CreateSpecOperator(DataframerCreateOperator):
    """
    Create a Dataframer spec from a seed dataset or from generation objectives, and wait for it.

    The spec id is the task's return value (``create_spec.output``) and is also pushed to XCom
    under ``spec_id`` as soon as it is known. Arguments are validated against the documented rules
    before any request is sent; a value that is templated is validated once it is rendered.

    A spec is created exactly once: a create whose answer was lost is resolved by looking the
    unique name up, and a retried or cleared task meets its own spec again and acts on
    ``if_exists``. On Airflow 3.3+ the spec id is also kept in the task-state store, so that a
    retry after a worker crash reconnects to it.

    :param name: unique name of the spec (templated); e.g. ``"support-spec-{{ ds_nodash }}"``.
    :param generation_objectives: what to generate (templated); required without ``dataset_id``.
    :param dataset_id: seed dataset UUID (templated); omit for a seedless spec.
    :param spec_generation_model_name: ``provider/model`` (templated); None (default) lets the
        server choose its default model. An unknown but well-formed name is sent with a warning,
        since the model list changes every few months.
    :param generate_distributions: learn value distributions (False gives uniform ones).
    :param generate_conditional_distributions: learn conditional distributions; requires
        ``generate_distributions``.
    :param extrapolate_values: seeded specs only; None sends the API default (True).
    :param extrapolate_axes: seeded specs only; None sends the API default (False).
    :param description: free text (templated).
    :param databricks_client_id: for deployments that take databricks credentials with a
        ``databricks/`` model (templated); today's API does not. The three go together.
    :param databricks_client_secret: see ``databricks_client_id`` (templated); masked and scrubbed.
    :param databricks_api_base: serving-endpoints URL; see ``databricks_client_id``.
    :param databricks_conn_id: an Airflow connection to read the three databricks fields from
        instead (login = client id, password = client secret, extra ``api_base`` or the host).
    :param if_exists: what to do when a spec of this name exists: ``"reuse"`` (default: adopt it
        when it has the same seed and is processing or succeeded, replace it when it failed),
        ``"fail"`` or ``"replace"``. Names are unique per seed dataset (or among seedless specs): a
        same-named spec of another dataset is another spec, and is never touched.
    :param dataframer_conn_id: the Airflow connection id.
    :param wait_for_completion: wait until the spec is SUCCEEDED or FAILED before finishing.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for a terminal status before failing the task.
    """

    template_fields: Sequence[str] = (
        "name",
        "generation_objectives",
        "dataset_id",
        "description",
        "spec_generation_model_name",
        "databricks_client_id",
        "databricks_client_secret",
        "databricks_api_base",
    )
    operator_extra_links = (DataframerSpecLink(),)
    ui_color = "#e8f0fe"
    external_id_key = "dataframer_spec_id"
    kind = SPEC
    id_xcom_key = "spec_id"
    request_model = SpecCreateRequest

    def __init__(
        self,
        *,
        name: str,
        generation_objectives: str | None = None,
        dataset_id: str | None = None,
        spec_generation_model_name: str | None = None,
        generate_distributions: bool = True,
        generate_conditional_distributions: bool = False,
        extrapolate_values: bool | None = None,
        extrapolate_axes: bool | None = None,
        description: str | None = None,
        databricks_client_id: str | None = None,
        databricks_client_secret: str | None = None,
        databricks_api_base: str | None = None,
        databricks_conn_id: str | None = None,
        if_exists: str = IfExists.REUSE.value,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            dataframer_conn_id=dataframer_conn_id,
            wait_for_completion=wait_for_completion,
            deferrable=deferrable,
            poll_interval=poll_interval,
            timeout=timeout,
            **kwargs,
        )
        self.name = name
        self.generation_objectives = generation_objectives
        self.dataset_id = dataset_id
        self.spec_generation_model_name = spec_generation_model_name
        self.generate_distributions = generate_distributions
        self.generate_conditional_distributions = generate_conditional_distributions
        self.extrapolate_values = extrapolate_values
        self.extrapolate_axes = extrapolate_axes
        self.description = description
        self.databricks_client_id = databricks_client_id
        self.databricks_client_secret = databricks_client_secret
        self.databricks_api_base = databricks_api_base
        self.databricks_conn_id = databricks_conn_id
        self.if_exists = IfExists.parse(if_exists)
        if databricks_conn_id and any(getattr(self, field) for field in DATABRICKS_FIELDS):
            raise DataframerValidationError(
                "Pass either databricks_conn_id or the databricks_* fields, not both."
            )
        self._mask_secrets()
        self.check_arguments({field: getattr(self, field) for field in SpecCreateRequest.model_fields})

    @property
    def spec_id(self) -> str | None:
        """The id of the spec this task created or adopted, once known."""
        return self.resource_id

    def _request(self) -> SpecCreateRequest:
        """The create request from the rendered arguments, validated as a whole."""
        fields = {field: getattr(self, field) for field in SpecCreateRequest.model_fields}
        databricks_model = str(fields["spec_generation_model_name"] or "").startswith("databricks/")
        if self.databricks_conn_id and databricks_model:
            # Only a databricks model takes the credentials: never send a secret that is not needed.
            fields.update(databricks_fields_from_connection(self.databricks_conn_id))
        return SpecCreateRequest.build(**fields)

    def _mask_secrets(self) -> None:
        if isinstance(self.databricks_client_secret, str):
            register_secret(self.databricks_client_secret)

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        self._mask_secrets()

    def submit_job(self, context: Context) -> str:
        request = self._request()
        if request.spec_generation_model_name and not is_known_model(request.spec_generation_model_name):
            self.log.warning(
                "Model %r is not in the list this provider knows; sending it as is (the server decides).",
                request.spec_generation_model_name,
            )
        spec_id, adopted = create_named(
            SpecCreate(self.hook, request), self.if_exists, self.hook.settings.retry, self.log
        )
        if not adopted:
            self.log.info("Created Dataframer spec %s named %r", spec_id, request.name)
        return spec_id

    def make_trigger(self, resource_id: str, deadline: float) -> SpecStatusTrigger:
        from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger

        return SpecStatusTrigger(
            spec_id=resource_id,
            dataframer_conn_id=self.dataframer_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """Lineage: the seed dataset (if any) is the input, the spec the output."""
        base_url = self.hook.settings.base_url
        inputs = [lineage.dataset(base_url, "seed-datasets", self.dataset_id)] if self.dataset_id else []
        outputs = [lineage.dataset(base_url, "specs", self.spec_id)] if self.spec_id else []
        return lineage.operator_lineage(inputs, outputs)


# ------------------------------------------------------------------------------------------
# Spec versions: a reviewed YAML kept in git becomes the spec's next version.


def spec_section(content_yaml: str, source: str) -> dict[str, Any]:
    """The ``spec`` mapping of a spec YAML; a clear error when the YAML cannot be a version."""
    import yaml

    try:
        document = yaml.safe_load(content_yaml)
    except yaml.YAMLError as exc:
        raise DataframerValidationError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("spec"), dict):
        raise DataframerValidationError(
            f"{source} must have a 'spec' root key holding a mapping (description, requirements, "
            "data_property_variations, ...): start from the YAML of GET specs/{id}/ or the app's YAML view."
        )
    section: dict[str, Any] = document["spec"]
    return section


class UpdateSpecOperator(BaseOperator):
    """
    Push a YAML as the next version of a spec, and return that version's number.

    For specs kept in git: the reviewed ``content_yaml`` (a string, or a file: local path or any
    ``ObjectStoragePath`` URI) is sent with ``PUT specs/{id}/``; Dataframer keeps every version and
    ignores the read-only ``metadata`` section. When the spec's latest version already holds the
    same ``spec`` section, no version is added and that version's number is returned, so a retried
    or re-run task adds no duplicate. Pin the version in a run with
    ``CreateRunOperator(spec_version=update_spec.output)``.

    :param spec_id: the spec (templated), e.g. ``create_spec.output``.
    :param content_yaml: the YAML itself (templated). Exactly one of ``content_yaml`` and
        ``yaml_path`` is given.
    :param yaml_path: a file holding the YAML (templated): a local path or a URI such as
        ``s3://bucket/specs/support.yaml``.
    :param yaml_conn_id: the Airflow connection of the object store, for URIs.
    :param dataframer_conn_id: the Airflow connection id.
    """

    template_fields: Sequence[str] = ("spec_id", "content_yaml", "yaml_path")
    template_ext: Sequence[str] = ()
    operator_extra_links = (DataframerSpecLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        spec_id: str,
        content_yaml: str | None = None,
        yaml_path: Any = None,
        yaml_conn_id: str | None = None,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec_id = spec_id
        self.content_yaml = content_yaml
        self.yaml_path = yaml_path
        self.yaml_conn_id = yaml_conn_id
        self.dataframer_conn_id = dataframer_conn_id
        if (content_yaml is None) == (yaml_path is None):
            raise DataframerValidationError(
                "UpdateSpecOperator needs exactly one of content_yaml (the YAML) and yaml_path (a file)."
            )

    def _yaml(self) -> tuple[str, str]:
        if self.content_yaml is not None:
            return str(self.content_yaml), "content_yaml"
        from airflow_provider_dataframer.destinations import resolve_source

        path = resolve_source(self.yaml_path, self.yaml_conn_id)
        try:
            return path.read_text(encoding="utf-8"), f"yaml_path {path}"
        except (OSError, UnicodeDecodeError) as exc:
            raise DataframerValidationError(f"yaml_path {path} cannot be read: {exc}") from None

    def execute(self, context: Context) -> int:
        spec_id = str(self.spec_id).strip()
        if not spec_id:
            raise DataframerValidationError(f"spec_id must be a spec id, got {self.spec_id!r}")
        content, source = self._yaml()
        wanted = spec_section(content, source)
        context["ti"].xcom_push(key="spec_id", value=spec_id)
        with DataframerHook(self.dataframer_conn_id) as hook:
            return self._add_version(hook, spec_id, content, source, wanted)

    def _add_version(
        self, hook: DataframerHook, spec_id: str, content: str, source: str, wanted: dict[str, Any]
    ) -> int:
        versions = hook.get_spec_with_versions(spec_id).versions or []
        latest = versions[-1].get("content_yaml") if versions else None
        if latest and spec_section(latest, "the latest version") == wanted:
            self.log.info(
                "Spec %s already holds this YAML as version %d; no version added.", spec_id, len(versions)
            )
            return len(versions)
        hook.update_spec(spec_id, content)
        version = len(hook.get_spec_with_versions(spec_id).versions or [])
        self.log.info("Spec %s: version %d added from %s.", spec_id, version, source)
        return version
