"""The command line's config file: named profiles of connection settings.

`$XDG_CONFIG_HOME/pipeline-service/config.toml` (`~/.config/...` by default)::

    default_profile = "local"

    [profiles.local]
    url = "http://127.0.0.1:8100"

    [profiles.prod]
    url = "https://pipelines.example.com"
    token = "s3cret"

A profile is chosen with `--profile NAME` or `$PIPELINE_SERVICE_PROFILE`, else
`default_profile`; its values apply only where no option or environment variable is given.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PROFILE = "PIPELINE_SERVICE_PROFILE"
ENV_CONFIG = "PIPELINE_SERVICE_CONFIG"
PROFILE_KEYS = frozenset({"url", "token"})


class ConfigError(Exception):
    """The config file cannot be used (unreadable, not TOML, unknown profile or key)."""


@dataclass(frozen=True)
class Profile:
    """Connection settings of one profile (None where the profile sets nothing)."""

    name: str | None = None
    url: str | None = None
    token: str | None = None


selected_profile: str | None = None
"""The profile named by `--profile` on the command line, if any."""


def config_path() -> Path:
    """Where the config file is: `$PIPELINE_SERVICE_CONFIG`, else under the XDG config home."""
    explicit = os.environ.get(ENV_CONFIG)
    if explicit:
        return Path(explicit)
    home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(home) / "pipeline-service" / "config.toml"


def load_profile(name: str | None = None) -> Profile:
    """The profile `name` (or the one selected on the command line, the environment, the file's
    default); an empty Profile when there is no config file and no profile was asked for."""
    wanted = name or selected_profile or os.environ.get(ENV_PROFILE) or None
    path = config_path()
    document = _read(path) if path.is_file() else {}
    if not document and wanted is None:
        return Profile()
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: `profiles` must be a table of [profiles.NAME] tables")
    if wanted is None:
        default = document.get("default_profile")
        if default is None:
            return Profile()
        wanted = str(default)
    if wanted not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"no profile {wanted!r} in {path} (profiles: {known})")
    settings = profiles[wanted]
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: [profiles.{wanted}] must be a table")
    unknown = sorted(set(settings) - PROFILE_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: [profiles.{wanted}] has unknown key(s) {', '.join(unknown)}; "
            "expected url, token"
        )
    for key in ("url", "token"):
        if key in settings and not isinstance(settings[key], str):
            raise ConfigError(f"{path}: [profiles.{wanted}] {key} must be a string")
    return Profile(wanted, settings.get("url"), settings.get("token"))


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
