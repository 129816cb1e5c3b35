"""Reading one configuration file: YAML validated into its model, or a ConfigError naming the file and field.

Every config module reads through here, so none has to import another for it (the catalog and the calendars
used to import each other for this).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from workrouter.contracts.codec import describe

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file is missing or wrong; the message names the file and the field."""


def read_yaml(path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Parse and validate one YAML file into `model` (with a validation `context`), or raise ConfigError."""
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return model.model_validate(doc, context=context)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe(exc)}") from None
