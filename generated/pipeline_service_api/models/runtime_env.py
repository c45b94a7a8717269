from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.runtime_env_env_vars import RuntimeEnvEnvVars


T = TypeVar("T", bound="RuntimeEnv")


@_attrs_define
class RuntimeEnv:
    """Code and environment shipped with a pipeline's actions to the nodes that run them (the
    Ray executor's `runtime_env`), so the action's code need not be installed there.
    Unknown keys are refused (422). Every key is optional.

        Attributes:
            working_dir (None | str | Unset): A local directory (or a URI Ray can fetch) uploaded and made the working
                directory.
            env_vars (RuntimeEnvEnvVars | Unset):
            py_modules (list[str] | Unset): Local directories of Python packages (or URIs) put on the import path.
    """

    working_dir: None | str | Unset = UNSET
    env_vars: RuntimeEnvEnvVars | Unset = UNSET
    py_modules: list[str] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        working_dir: None | str | Unset
        if isinstance(self.working_dir, Unset):
            working_dir = UNSET
        else:
            working_dir = self.working_dir

        env_vars: dict[str, Any] | Unset = UNSET
        if not isinstance(self.env_vars, Unset):
            env_vars = self.env_vars.to_dict()

        py_modules: list[str] | Unset = UNSET
        if not isinstance(self.py_modules, Unset):
            py_modules = self.py_modules

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if working_dir is not UNSET:
            field_dict["working_dir"] = working_dir
        if env_vars is not UNSET:
            field_dict["env_vars"] = env_vars
        if py_modules is not UNSET:
            field_dict["py_modules"] = py_modules

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.runtime_env_env_vars import RuntimeEnvEnvVars  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_working_dir(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        working_dir = _parse_working_dir(d.pop("working_dir", UNSET))

        _env_vars = d.pop("env_vars", UNSET)
        env_vars: RuntimeEnvEnvVars | Unset
        if isinstance(_env_vars, Unset):
            env_vars = UNSET
        else:
            env_vars = RuntimeEnvEnvVars.from_dict(_env_vars)

        py_modules = cast(list[str], d.pop("py_modules", UNSET))

        runtime_env = cls(
            working_dir=working_dir,
            env_vars=env_vars,
            py_modules=py_modules,
        )

        return runtime_env
