"""Config validation against ``workflow/schemas/config.schema.yaml`` with defaults filled in.

Errors name the offending key path (``config key datasets.pneumonia.synthetic.n_imgs``), so a
typo stops the run at once instead of silently using a default.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

from .errors import InputError

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft7Validator)


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        where = f"{path}." if path else ""
        keys = ", ".join(f"{where}{k}" for k in extra)
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown config key {keys}{hint}"
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        return (
            f"config key {path}: give exactly one of 'root' (a real dataset) or "
            "'synthetic' (a generated look-alike)"
        )
    if error.validator == "propertyNames":
        return f"config key {path}: invalid name {error.instance!r} ({error.message})"
    return f"config key {path or '(top level)'}: {error.message}"


def validate(config: dict, schema: dict | None = None) -> dict:
    """Validate ``config`` in place (defaults filled) and return it; raise InputError."""
    schema = load_schema() if schema is None else schema
    validator = _Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise InputError("invalid configuration:\n  " + "\n  ".join(_describe(e) for e in errors))
    return config


def load(path: str | Path) -> dict:
    """Read a YAML config file and validate it."""
    with open(path) as fh:
        config = yaml.safe_load(fh) or {}
    try:
        return validate(config)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
