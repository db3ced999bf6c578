"""Command line: ``python -m dataframer_emulator --port 8000``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from dataframer_emulator.config import EmulatorConfig
from dataframer_emulator.faults import FaultRule


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (unset, off, empty)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, []):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The emulator's argument parser."""
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="python -m dataframer_emulator",
        description=(
            "Serve an offline emulator of the Dataframer API at http://HOST:PORT/api/dataframer/ "
            "(GET / says where the API and its docs are)."
        ),
        formatter_class=_DefaultsFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--api-key",
        help="accept only this API key, also required by the /_emulator/ admin endpoints; unset: any non-empty Bearer key",
    )
    parser.add_argument("--state", metavar="FILE", help="keep state in this SQLite file; unset: in memory")
    timings = parser.add_argument_group("lifecycle timings (seconds)")
    timings.add_argument(
        "--spec-seconds", type=float, default=defaults.spec_seconds, help="spec PROCESSING time"
    )
    timings.add_argument(
        "--run-pending-seconds", type=float, default=defaults.run_pending_seconds, help="run PENDING time"
    )
    timings.add_argument(
        "--run-seconds", type=float, default=defaults.run_seconds, help="run PROCESSING time"
    )
    timings.add_argument(
        "--download-seconds",
        type=float,
        default=defaults.download_seconds,
        help="time a download answers 202",
    )
    timings.add_argument(
        "--cost-per-sample", type=float, default=defaults.cost_per_sample, help="dollars a sample"
    )
    variants = parser.add_argument_group("deployment variants")
    variants.add_argument(
        "--spec-create-returns-object", action="store_true", help="answer POST /specs/ with the whole spec"
    )
    variants.add_argument("--spec-success-status", default=defaults.spec_success_status, help="e.g. READY")
    variants.add_argument(
        "--run-processing-status", default=defaults.run_processing_status, help="e.g. IN_PROGRESS"
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-upload-bytes",
        type=int,
        default=defaults.max_upload_bytes,
        help="largest multipart request body (seed uploads); larger is refused 413 before it is read",
    )
    limits.add_argument(
        "--max-body-bytes", type=int, default=defaults.max_body_bytes, help="largest other request body"
    )
    limits.add_argument(
        "--request-log-size",
        type=int,
        default=defaults.request_log_size,
        help="requests kept by GET /_emulator/requests (the oldest are dropped)",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help="a fault rule (repeatable); its path is a glob relative to /api/dataframer/, e.g. "
        '\'{"method": "GET", "path": "specs/*/", "status_code": 429, "retry_after": 1}\'',
    )
    faults.add_argument("--faults-file", metavar="FILE", help="a JSON list of fault rules")
    parser.add_argument("--log-level", default="info", help="uvicorn log level")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The configuration the parsed arguments describe."""
    rules = [json.loads(text) for text in args.fault]
    if args.faults_file:
        loaded = json.loads(Path(args.faults_file).read_text())
        rules += loaded if isinstance(loaded, list) else [loaded]
    return EmulatorConfig(
        api_key=args.api_key,
        state_path=args.state,
        spec_seconds=args.spec_seconds,
        run_pending_seconds=args.run_pending_seconds,
        run_seconds=args.run_seconds,
        download_seconds=args.download_seconds,
        cost_per_sample=args.cost_per_sample,
        spec_create_returns_object=args.spec_create_returns_object,
        spec_success_status=args.spec_success_status,
        run_processing_status=args.run_processing_status,
        max_upload_bytes=args.max_upload_bytes,
        max_body_bytes=args.max_body_bytes,
        request_log_size=args.request_log_size,
        faults=[FaultRule.model_validate(rule) for rule in rules],
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and serve until interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValueError, ValidationError, OSError) as exc:
        parser.error(str(exc))
    import uvicorn

    from dataframer_emulator.app import create_app
    from dataframer_emulator.faults import install_log_filter

    app = create_app(config)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level))
    install_log_filter()
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn has shut down gracefully and re-raised the captured Ctrl-C
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
