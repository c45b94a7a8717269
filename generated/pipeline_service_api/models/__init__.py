"""Contains all the data models used in inputs/outputs"""

from .action_definition import ActionDefinition
from .action_metrics import ActionMetrics
from .action_progress import ActionProgress
from .action_resources import ActionResources
from .action_resources_custom import ActionResourcesCustom
from .action_status import ActionStatus
from .artifact import Artifact
from .checkpoint import Checkpoint
from .checkpoint_create import CheckpointCreate
from .checkpoint_create_params_snapshot import CheckpointCreateParamsSnapshot
from .checkpoint_create_result import CheckpointCreateResult
from .checkpoint_create_state_type_0 import CheckpointCreateStateType0
from .checkpoint_params_snapshot import CheckpointParamsSnapshot
from .checkpoint_result import CheckpointResult
from .checkpoint_state_type_0 import CheckpointStateType0
from .claim_request import ClaimRequest
from .error import Error
from .health import Health
from .labels import Labels
from .lease import Lease
from .lease_request import LeaseRequest
from .log_batch import LogBatch
from .log_entry import LogEntry
from .log_event import LogEvent
from .log_event_name import LogEventName
from .log_level import LogLevel
from .log_record import LogRecord
from .log_stream_end import LogStreamEnd
from .logged_metric import LoggedMetric
from .metric_batch import MetricBatch
from .metric_entry import MetricEntry
from .metric_entry_values import MetricEntryValues
from .metric_point import MetricPoint
from .metric_series import MetricSeries
from .metric_values import MetricValues
from .metrics_appended import MetricsAppended
from .pipeline import Pipeline
from .pipeline_create import PipelineCreate
from .pipeline_update import PipelineUpdate
from .progress import Progress
from .progress_event import ProgressEvent
from .progress_event_name import ProgressEventName
from .progress_update import ProgressUpdate
from .ran_on import RanOn
from .run import Run
from .run_claim import RunClaim
from .run_create import RunCreate
from .run_create_params import RunCreateParams
from .run_event import RunEvent
from .run_event_details import RunEventDetails
from .run_metrics import RunMetrics
from .run_params import RunParams
from .run_removed import RunRemoved
from .run_result import RunResult
from .run_status import RunStatus
from .run_summary import RunSummary
from .run_update import RunUpdate
from .run_update_result import RunUpdateResult
from .runs_stream_event import RunsStreamEvent
from .runs_stream_event_event import RunsStreamEventEvent
from .runs_stream_mark import RunsStreamMark
from .runtime_env import RuntimeEnv
from .runtime_env_env_vars import RuntimeEnvEnvVars
from .step_point import StepPoint
from .stream_error import StreamError
from .validation_issue import ValidationIssue

__all__ = (
    "ActionDefinition",
    "ActionMetrics",
    "ActionProgress",
    "ActionResources",
    "ActionResourcesCustom",
    "ActionStatus",
    "Artifact",
    "Checkpoint",
    "CheckpointCreate",
    "CheckpointCreateParamsSnapshot",
    "CheckpointCreateResult",
    "CheckpointCreateStateType0",
    "CheckpointParamsSnapshot",
    "CheckpointResult",
    "CheckpointStateType0",
    "ClaimRequest",
    "Error",
    "Health",
    "Labels",
    "Lease",
    "LeaseRequest",
    "LogBatch",
    "LogEntry",
    "LogEvent",
    "LogEventName",
    "LoggedMetric",
    "LogLevel",
    "LogRecord",
    "LogStreamEnd",
    "MetricBatch",
    "MetricEntry",
    "MetricEntryValues",
    "MetricPoint",
    "MetricsAppended",
    "MetricSeries",
    "MetricValues",
    "Pipeline",
    "PipelineCreate",
    "PipelineUpdate",
    "Progress",
    "ProgressEvent",
    "ProgressEventName",
    "ProgressUpdate",
    "RanOn",
    "Run",
    "RunClaim",
    "RunCreate",
    "RunCreateParams",
    "RunEvent",
    "RunEventDetails",
    "RunMetrics",
    "RunParams",
    "RunRemoved",
    "RunResult",
    "RunsStreamEvent",
    "RunsStreamEventEvent",
    "RunsStreamMark",
    "RunStatus",
    "RunSummary",
    "RuntimeEnv",
    "RuntimeEnvEnvVars",
    "RunUpdate",
    "RunUpdateResult",
    "StepPoint",
    "StreamError",
    "ValidationIssue",
)
