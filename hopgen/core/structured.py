"""Typed dataclass configs from YAML/JSON, with `key.path=value` overrides (shared by generator and trainer).

Unknown keys and wrong types are errors that name the key path. YAML needs pyyaml (yaml.safe_load);
inside a Blender without pyyaml, JSON files work (YAML is a superset of JSON) and a YAML file gives
a clear error saying what to install.
"""

import dataclasses
import json
import os
import typing


class ConfigError(ValueError):
    """A config file or override that does not fit the schema."""


def load_structured_file(path):
    """Parse a YAML or JSON file into plain Python data."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: file not found")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: invalid JSON: {e}") from None
    try:
        import yaml
    except ImportError:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(f"{path}: reading YAML needs pyyaml, which this Python lacks; install it "
                              "(e.g. apt-get install python3-yaml, or pip install pyyaml into Blender's Python) "
                              "or pass the config as JSON") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    return {} if data is None else data


def _type_name(tp):
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value, tp, where):
    """Check/convert `value` to annotation `tp`; raise ConfigError naming `where`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is typing.Any:
        return value
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping of {tp.__name__} fields, got {value!r}")
        return from_dict(tp, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else typing.Any
        out = [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        kt, vt = args if args else (typing.Any, typing.Any)
        return {_coerce(k, kt, f"{where}"): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 (pyyaml) reads 1e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):  # YAML 1.1 reads off/on/no/yes as booleans (e.g. amp: off)
            return "on" if value else "off"
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def from_dict(cls, data, where=""):
    """Build dataclass `cls` from a mapping; missing fields keep their defaults; unknown keys are errors."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"unknown config key {prefix}{unknown[0]!s} (known: {', '.join(sorted(names))})")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(value, hints[name], f"{where}.{name}" if where else name)
    try:
        obj = cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{where or cls.__name__}: {e}") from None
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate()
    return obj


def to_dict(obj):
    """Plain JSON-serialisable dict of a (nested) dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def parse_override(text):
    """'a.b=value' -> (['a', 'b'], value) with the value parsed as YAML/JSON when possible, else a string."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected key.path=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r}: empty key")
    try:
        import yaml
        value = yaml.safe_load(raw)
    except ImportError:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
    except Exception:
        value = raw
    return key.split("."), value


def apply_overrides(data, overrides):
    """Return a copy of plain `data` with each 'a.b=value' override set (creating nested mappings)."""
    data = json.loads(json.dumps(data if data is not None else {}))
    for text in overrides or ():
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(f"override {text!r}: {part} is not a section")
            node = nxt
        node[path[-1]] = value
    return data


def load_config(cls, path=None, overrides=(), data=None, where=None):
    """Load dataclass `cls` from a file (or `data`) plus overrides. Errors name the file and key
    (`where`: the file name to use when `data` was read from a file already)."""
    raw = load_structured_file(path) if path is not None else (data or {})
    raw = apply_overrides(raw, overrides)
    where = path if path is not None else where
    try:
        return from_dict(cls, raw)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}" if where else str(e)) from None
