"""Config validation against the package's ``config.schema.yaml`` with defaults filled in.

Errors name the offending key path (``config key datasets.pneumonia.synthetic.n_imgs``), so a
typo stops the run at once instead of silently using a default. Names that registries define
(saliency methods, architectures, dataset formats, utility metrics) are not spelled in the
schema: a node ``{x-enum: NAME}`` becomes ``{enum: [...]}`` of registry ``NAME``, and
``x-default: NAME`` a default listing all of it (:data:`REGISTRIES`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from .errors import InputError

SCHEMA = "config.schema.yaml"  # package data of saliency_audit


def _methods() -> list[str]:
    from .saliency.registry import method_names

    return method_names()


def _paper_methods() -> list[str]:
    from .saliency.registry import paper_method_names

    return paper_method_names()


def _architectures() -> list[str]:
    from .models.registry import ARCHITECTURES

    return list(ARCHITECTURES)


def _formats() -> list[str]:
    from .formats import FORMATS

    return list(FORMATS)


def _utility_metrics() -> list[str]:
    from .vocabulary import metric_names

    return metric_names("utility")


#: registry name (``x-enum`` / ``x-default`` in the schema) -> its names
REGISTRIES: dict[str, Callable[[], list[str]]] = {
    "methods": _methods,
    "paper_methods": _paper_methods,
    "architectures": _architectures,
    "formats": _formats,
    "utility_metrics": _utility_metrics,
}


def _resolve(node):
    if isinstance(node, list):
        return [_resolve(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _resolve(v) for k, v in node.items() if k not in ("x-enum", "x-default")}
    if "x-enum" in node:
        out["enum"] = REGISTRIES[node["x-enum"]]()
    if "x-default" in node:
        out["default"] = REGISTRIES[node["x-default"]]()
    return out


def load_schema(path: str | Path | None = None) -> dict:
    """The config schema (the package's, or ``path``) with registry names filled in."""
    if path is None:
        text = resources.files(__package__).joinpath(SCHEMA).read_text()
    else:
        text = Path(path).read_text()
    return _resolve(yaml.safe_load(text))


_TEXT_VALUES = {"boolean": {"true": True, "false": False}, "null": {"null": None, "~": None}}


def _from_text(value, types):
    """A scalar that ``snakemake --config key='{sub: 0}'`` handed over as text (Snakemake reads
    nested values with YAML's BaseLoader, which keeps every scalar a string), as the type the
    schema wants; unchanged where nothing else fits (a field that takes text or a number, such
    as ``saliency.batch_size: 8 | auto``, gets the number where the text is one)."""
    types = [types] if isinstance(types, str) else list(types or [])
    if not isinstance(value, str) or not types:
        return value
    for kind in types:
        if kind in _TEXT_VALUES and value.lower() in _TEXT_VALUES[kind]:
            return _TEXT_VALUES[kind][value.lower()]
        try:
            if kind == "integer":
                return int(value)
            if kind == "number":
                return float(value)
        except ValueError:
            continue
    return value


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
                elif prop in instance:
                    instance[prop] = _from_text(instance[prop], sub.get("type"))
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
    if error.validator == "enum" and "propertyNames" in error.schema_path:
        allowed = ", ".join(map(str, error.validator_value))
        return f"unknown config key {path}.{error.instance} (allowed: {allowed})"
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
