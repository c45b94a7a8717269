"""In-action checkpoints: what `context.save_checkpoint` saves and `context.last_checkpoint`
gives back.

A save uploads the files (through the API, into the server's artifact store) and then records
one checkpoint (status `running`) holding the JSON state, the step and the artifacts' paths;
both are fenced by the worker's lease, and the save returns once both are stored. A file whose
bytes equal those of the same name in the latest checkpoint is not uploaded again: the new
checkpoint lists the artifact already stored. So a save costs one hash of each file (a read),
one upload per changed file, and one small request for the record.

The files of a checkpoint live under `<action>/<step-N | save-N>/<name>` in the run's artifacts.
Continuing, `last_checkpoint.path` is a directory in this worker's work dir holding them
(downloaded on first use, skipping files already there with the right bytes).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_service._files import file_sha256
from pipeline_service.errors import PipelineServiceError
from pipeline_service.runner.delivery import is_lease_lost

if TYPE_CHECKING:
    from pipeline_service.client import PipelineServiceClient
    from pipeline_service.runner.actions import ActionTask
    from pipeline_service.types import Artifact, Checkpoint

FileArg = str | os.PathLike[str]
CHECKPOINT_DIR = "checkpoints"


class CheckpointError(Exception):
    """A checkpoint could not be saved (the store or the service refused or failed); nothing
    of it counts: the latest checkpoint is still the one before."""


@dataclass(frozen=True)
class SavedCheckpoint:
    """An in-action checkpoint: its `state`, `step` and the artifact paths of its `files`.

    `path` is a local directory (in this worker's work dir) holding the files under the names
    they were saved with; they are downloaded the first time `path` is read, unless already
    there with the same bytes.
    """

    id: str
    step: int | None
    state: dict[str, Any] | None
    files: tuple[str, ...]
    _loader: _CheckpointFiles | None = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> Path:
        """The directory holding this checkpoint's files (fetched when needed)."""
        if self._loader is None:
            raise RuntimeError("this checkpoint has no local directory")
        return self._loader.materialise(self)


def _check_state(state: object) -> dict[str, Any] | None:
    if state is None:
        return None
    if not isinstance(state, dict):
        raise TypeError(
            f"checkpoint state must be a dict (a JSON object), not {type(state).__name__}"
        )
    try:
        json.dumps(state, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"checkpoint state must be JSON with finite numbers: {exc}") from None
    return state


def _check_step(step: object) -> int | None:
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"checkpoint step must be an integer >= 0, got {step!r}")
    return step


def collect_files(files: FileArg | Sequence[FileArg] | None) -> dict[str, Path]:
    """The files to save, by the name they keep: a file its own name, a directory's files
    their paths inside it. FileNotFoundError for a path that does not exist, ValueError when
    two files would get one name."""
    if files is None:
        return {}
    given: Iterable[FileArg] = [files] if isinstance(files, str | os.PathLike) else files
    named: dict[str, Path] = {}

    def add(name: str, path: Path) -> None:
        if name in named:
            raise ValueError(f"two checkpoint files would be named {name!r}: {named[name]}, {path}")
        named[name] = path

    for item in given:
        path = Path(item)
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.is_file()):
                add(found.relative_to(path).as_posix(), found)
        elif path.is_file():
            add(path.name, path)
        else:
            raise FileNotFoundError(f"no checkpoint file or directory at {str(path)!r}")
    return named


def _name_in(artifact_path: str, action_name: str) -> str:
    """The name a checkpoint file was saved with, from its artifact path."""
    parts = artifact_path.split("/")
    if len(parts) >= 3 and parts[0] == action_name:
        return "/".join(parts[2:])
    return artifact_path


class _CheckpointFiles:
    """Downloads a checkpoint's files into the work dir."""

    def __init__(self, owner: ActionCheckpoints) -> None:
        self._owner = owner

    def materialise(self, checkpoint: SavedCheckpoint) -> Path:
        owner = self._owner
        label = f"step-{checkpoint.step}" if checkpoint.step is not None else checkpoint.id
        directory = owner.work_dir / CHECKPOINT_DIR / owner.action_name / label
        directory.mkdir(parents=True, exist_ok=True)
        known = owner.artifacts()
        for artifact_path in checkpoint.files:
            target = directory / _name_in(artifact_path, owner.action_name)
            stored = known.get(artifact_path)
            if (
                stored is not None
                and target.is_file()
                and target.stat().st_size == stored["size"]
                and file_sha256(target) == stored["sha256"]
            ):
                continue  # already here with the right bytes
            owner.client.download_artifact(owner.run_id, artifact_path, target)
        return directory


class ActionCheckpoints:
    """The in-action checkpoints of one action of one run, for its ActionContext."""

    def __init__(
        self,
        client: PipelineServiceClient,
        task: ActionTask,
        *,
        on_lease_lost: Callable[[], object] | None = None,
    ) -> None:
        self.client = client
        self.run_id = task.run_id
        self.action_name = task.action_name
        self.action_index = task.action_index
        self.work_dir = Path(task.work_dir)
        self._params = dict(task.params)
        self._lease_token = task.lease_token
        self._on_lease_lost = on_lease_lost
        self._files = _CheckpointFiles(self)
        self._artifacts: dict[str, Artifact] | None = None
        self._latest: SavedCheckpoint | None = None
        self._latest_loaded = False
        self._saves = 0

    # -- what the service holds -----------------------------------------------------------

    def artifacts(self) -> dict[str, Artifact]:
        """The run's artifacts by path (read once, then kept up to date by our uploads)."""
        if self._artifacts is None:
            self._artifacts = {a["path"]: a for a in self.client.list_artifacts(self.run_id)}
        return self._artifacts

    def latest(self) -> SavedCheckpoint | None:
        """The newest in-action checkpoint of this action in the run (None: there is none)."""
        if not self._latest_loaded:
            mine = [
                c
                for c in self.client.get_checkpoints(self.run_id)
                if c["status"] == "running"
                and c["action_name"] == self.action_name
                and c["action_index"] == self.action_index
            ]
            self._latest = self._saved(mine[-1]) if mine else None  # listed oldest first
            self._latest_loaded = True
        return self._latest

    def _saved(self, checkpoint: Checkpoint) -> SavedCheckpoint:
        return SavedCheckpoint(
            id=checkpoint["id"],
            step=checkpoint.get("step"),
            state=checkpoint.get("state"),
            files=tuple(checkpoint.get("artifacts") or ()),
            _loader=self._files,
        )

    # -- saving ---------------------------------------------------------------------------

    def save(
        self,
        state: object = None,
        *,
        step: object = None,
        files: FileArg | Sequence[FileArg] | None = None,
    ) -> SavedCheckpoint:
        """Upload the files that changed, then record the checkpoint (see the module's doc)."""
        checked_state = _check_state(state)
        checked_step = _check_step(step)
        named = collect_files(files)  # every file exists before anything is sent
        try:
            previous = self.latest()
            paths = self._upload(named, checked_step, previous)
            checkpoint = self.client.create_checkpoint(
                self.run_id,
                self.action_name,
                self.action_index,
                status="running",
                params_snapshot=self._params,
                step=checked_step,
                state=checked_state,
                artifacts=paths,
                idempotency_key=str(uuid.uuid4()),
                lease_token=self._lease_token,
            )
        except PipelineServiceError as exc:
            if is_lease_lost(exc) and self._on_lease_lost is not None:
                self._on_lease_lost()
            raise CheckpointError(f"checkpoint not saved: {exc}") from exc
        self._latest = self._saved(checkpoint)
        self._latest_loaded = True
        return self._latest

    def _upload(
        self, named: dict[str, Path], step: int | None, previous: SavedCheckpoint | None
    ) -> list[str]:
        if not named:
            return []
        known = self.artifacts()
        reusable: dict[tuple[str, str], str] = {}
        if previous is not None:
            for artifact_path in previous.files:
                artifact = known.get(artifact_path)
                if artifact is not None:
                    reusable[(_name_in(artifact_path, self.action_name), artifact["sha256"])] = (
                        artifact_path
                    )
        self._saves += 1
        label = f"step-{step}" if step is not None else f"save-{self._saves}"
        digests = {name: file_sha256(path) for name, path in named.items()}

        def clashes(name: str) -> bool:
            """An earlier attempt's checkpoint holds other bytes under this name and label."""
            existing = known.get(f"{self.action_name}/{label}/{name}")
            return (
                existing is not None
                and existing["sha256"] != digests[name]
                and existing["checkpoint_id"] is not None
            )

        if any(clashes(name) for name in named):  # keep both: this save gets a label of its own
            label = f"{label}-{uuid.uuid4().hex[:8]}"
        paths: list[str] = []
        for name, path in named.items():
            same = reusable.get((name, digests[name]))
            if same is not None:
                paths.append(same)
                continue
            artifact_path = f"{self.action_name}/{label}/{name}"
            artifact = self.client.upload_artifact(
                self.run_id,
                artifact_path,
                path,
                action_name=self.action_name,
                step=step,
                sha256=digests[name],
                lease_token=self._lease_token,
            )
            known[artifact["path"]] = artifact
            paths.append(artifact["path"])
        return paths
