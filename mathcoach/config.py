"""Dataclass configs that are also the CLI: defaults < a TOML config file < command-line flags.

Example: ``mathcoach data --config configs/data_mul_long.toml --per-cell 50``

Every field carries its help text in ``metadata["help"]``; ``add_arguments`` turns fields into flags and
``resolve`` merges the layers, so a config file and the command line can never disagree about names.
Contradictions are rejected in each config's ``__post_init__`` with a ``ConfigError`` naming the field.
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from typing import Any

from mathcoach.errors import UserError


class ConfigError(UserError, ValueError):
    """Invalid settings; str(e) is one line naming the flag and how to fix it."""

    def __init__(self, name: str, message: str):
        super().__init__(f"--{name.replace('_', '-')}: {message}")


def opt(default: Any = dataclasses.MISSING, help: str = "", **meta: Any) -> Any:
    """A config field with help text; ``short`` adds a one-letter flag, ``choices`` limits values, ``aliases`` maps
    old names (flag or TOML key) to a function of their value: hidden spellings kept for one release."""
    kw = {"default_factory": default} if callable(default) else {"default": default}
    return dataclasses.field(metadata={"help": help, **meta}, **kw)


def as_file(value: str) -> str:
    """An old file-only flag (``--system-prompt FILE``) as the new TEXT|@FILE value."""
    return "@" + value


def read_text_or_file(name: str, value: str | None) -> str | None:
    """A TEXT|@FILE setting's text: ``@path`` reads the file (ConfigError naming the flag when it cannot)."""
    if value is None or not value.startswith("@"):
        return value
    try:
        with open(value[1:], encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(name, f"cannot read {value[1:]}: {e.strerror or e}") from None


_TYPES = {"int": int, "float": float, "str": str}


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML file of settings; flags override it")
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        names = [flag] + ([f"-{f.metadata['short']}"] if "short" in f.metadata else [])
        help_ = f.metadata.get("help", "")
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None if required else f.default
        if required:
            help_ += " (required)"
        elif default is not None:
            help_ += f" (default: {default})"
        elif "default" not in help_:
            help_ += " (default: none)"
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_}
        type_name = str(f.type).replace(" | None", "")
        if type_name == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = _TYPES.get(type_name, str)
            kw["metavar"] = f.metadata.get("metavar", f.name.upper())
        if "choices" in f.metadata:
            kw["choices"] = f.metadata["choices"]
        parser.add_argument(*names, **kw)
        for old, convert in f.metadata.get("aliases", {}).items():  # hidden: not in --help, still accepted
            parser.add_argument("--" + old.replace("_", "-"), dest=f.name, default=argparse.SUPPRESS,
                                help=argparse.SUPPRESS, type=convert or kw.get("type", str),
                                **({"action": kw["action"]} if "action" in kw else {}))


def load_toml(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("config", f"file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("config", f"{path} is not valid TOML: {e}") from None


def _coerce(cls: type, key: str, value: Any, path: str) -> Any:
    """TOML values must already have the field's type (no silent "5" -> 5 surprises beyond ints as floats)."""
    type_name = str(next(f.type for f in dataclasses.fields(cls) if f.name == key))
    base = type_name.replace(" | None", "")
    want = {"int": int, "float": (int, float), "str": str, "bool": bool}.get(base)
    if want is not None and not (isinstance(value, want) and not (base == "int" and isinstance(value, bool))):
        raise ConfigError(key, f"{path} gives {value!r}; expected {base}")
    return float(value) if base == "float" else value


def resolve(cls: type, ns: argparse.Namespace) -> Any:
    """Build ``cls`` from the config file named by ``--config`` (if any) and the flags given."""
    values: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}
    aliases = {old: (f.name, convert) for f in dataclasses.fields(cls)
               for old, convert in f.metadata.get("aliases", {}).items()}
    if getattr(ns, "config", None):
        for k, v in load_toml(ns.config).items():
            key = k.replace("-", "_")
            if key in aliases:  # an old spelling of a renamed setting
                key, convert = aliases[key]
                v = convert(v) if convert and isinstance(v, str) else v
            if key not in names:
                raise ConfigError("config", f"{ns.config} sets unknown setting {k!r}")
            values[key] = _coerce(cls, key, v, ns.config)
    values.update({k: v for k, v in vars(ns).items() if k in names})
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in values
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(missing[0], "is required")
    try:
        return cls(**values)
    except TypeError as e:  # a wrong type from a TOML file reaches here
        raise ConfigError("config", str(e)) from None


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)
