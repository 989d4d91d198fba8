"""A configuration file for the command line: `disval.toml`, or `[tool.disval]` in pyproject.toml.

Its keys are the long options of the commands, without the dashes
(`max-findings = 50`, `format = "json"`, `skip = ["2300"]`); a value becomes
that option's default, so a flag on the command line still wins. One table
serves every command: a key is used by the commands that have that option.
A table per command (`[validate]`, `[tool.disval.submit]`) overrides it for
that command. Relative paths are taken from the file's directory.

Where: `--config FILE`, else `DISVAL_CONFIG`, else the first `disval.toml`, or
`pyproject.toml` with a `[tool.disval]` table, in the working directory or
one of its parents.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

try:
    import tomllib  # novermin (3.10 takes the fallback below)
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from .pipeline import UsageError

CONFIG_NAME = "disval.toml"
# Options that name a file or directory: a relative value is relative to the configuration file.
PATH_KEYS = {"codelists", "rules", "output", "output_dir", "smtp_password_file"}


def find_config(start: Path | None = None, environ=None) -> Path | None:
    """The configuration file that applies in `start` (default: the working directory), or None."""
    env = os.environ if environ is None else environ
    if env.get("DISVAL_CONFIG"):
        return Path(env["DISVAL_CONFIG"])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "disval" in _read(pyproject).get("tool", {}):
            return pyproject
    return None


def load_config(path: Path) -> dict:
    """The disval table of a configuration file: {key: value, command: {key: value}}."""
    data = _read(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("disval", {})
    if not isinstance(data, dict):
        raise UsageError(f"{path}: [tool.disval] must be a table")
    return data


def apply_config(parser: argparse.ArgumentParser, config: dict, path: Path) -> None:
    """Make the file's values the defaults of every (sub)command that has the option.

    A key that no command knows, or a value of the wrong kind, is a usage
    error naming the file and the key.
    """
    commands = dict(_commands(parser))
    shared = {k: v for k, v in config.items() if not isinstance(v, dict)}
    per_command = {k: v for k, v in config.items() if isinstance(v, dict)}
    for name in per_command:
        if name not in commands:
            raise UsageError(f"{path}: [{name}] is not a disval command; commands: {', '.join(sorted(commands))}")
    used: set[str] = set()
    for name, sub in commands.items():
        options = _options(sub)
        for key, value in {**shared, **per_command.get(name, {})}.items():
            dest = key.replace("-", "_")
            if dest in options:
                sub.set_defaults(**{dest: _value(options[dest], value, path, key)})
                used.add(key)
        for key in per_command.get(name, {}):
            if key.replace("-", "_") not in options:
                raise UsageError(f"{path}: 'disval {name}' has no option --{key}")
    unknown = sorted(set(shared) - used)
    if unknown:
        raise UsageError(f"{path}: unknown key {', '.join(map(repr, unknown))}: no disval command has that option")


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the configuration file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


def _commands(parser: argparse.ArgumentParser, prefix: str = ""):
    """(name, parser) of every command and sub-command, e.g. 'validate', 'provider add'."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix}{name}"
                yield full, sub
                yield from _commands(sub, full + " ")


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The command's long options by destination; positional arguments and --help are not configurable."""
    return {a.dest: a for a in parser._actions
            if a.dest not in ("help", "func") and any(o.startswith("--") for o in a.option_strings)}


def _value(action: argparse.Action, value, path: Path, key: str):
    """The file's value as the option would have parsed it."""
    if isinstance(action, argparse._AppendAction):
        if not isinstance(value, list):
            value = [value]
        return [_one(action, v, path, key) for v in value]
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse.BooleanOptionalAction)):
        if not isinstance(value, bool):
            raise UsageError(f"{path}: {key} must be true or false, not {value!r}")
        return value
    if isinstance(value, list):
        # A comma-separated option (--format json,xlsx, --skip 2300,2301) may be written as a TOML list.
        value = ",".join(map(str, value))
    return _one(action, value, path, key)


def _one(action: argparse.Action, value, path: Path, key: str):
    if isinstance(value, (dict, list)):
        raise UsageError(f"{path}: {key} must be a single value, not {value!r}")
    if action.dest in PATH_KEYS:
        value = str((path.parent / str(value)).resolve()) if not os.path.isabs(str(value)) else str(value)
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if action.choices is not None and text not in action.choices:
        raise UsageError(f"{path}: {key} must be one of {', '.join(map(str, action.choices))}, not {value!r}")
    try:
        return action.type(text) if callable(action.type) else text
    except (TypeError, ValueError):
        raise UsageError(f"{path}: {key}: {value!r} is not a valid value") from None
