"""Settings from the environment: ``ALLIANCE_MONITOR__SECTION__KEY`` over the file, the command
line over both; every setting of the file reachable that way."""

from __future__ import annotations

import typing
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from alliance_monitor import ConfigError
from alliance_monitor._cli_service import serve_settings
from alliance_monitor._settings import (
    AlertEndpointSettings,
    HttpSettings,
    Settings,
    env_overrides,
    load_settings,
)

SECRET = "whsec_" + "ZW52LW92ZXJyaWRlLXRlc3Qtc2VjcmV0LTEyMzQ1Ng=="


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "serve.toml"
    p.write_text(text)
    return p


def test_precedence_command_line_then_environment_then_file_then_default(tmp_path: Path) -> None:
    cfg = write(tmp_path, "[server]\nport = 8100\nqueue_size = 10\nretry_after = 7\n")
    env = {"ALLIANCE_MONITOR__SERVER__PORT": "8200", "ALLIANCE_MONITOR__SERVER__QUEUE_SIZE": "20"}
    s = serve_settings(Namespace(config=str(cfg), host=None, port=8300), env)
    assert s.server.port == 8300  # command line over the environment
    assert s.server.queue_size == 20  # environment over the file
    assert s.server.retry_after == 7  # the file over the default
    assert s.server.max_body_bytes == 8 * 1024 * 1024  # the default
    s = serve_settings(Namespace(config=str(cfg), host=None, port=None), env)
    assert s.server.port == 8200


def test_no_file_at_all(tmp_path: Path) -> None:
    env = {
        "ALLIANCE_MONITOR__ADAPTERS__0__TYPE": "http",
        "ALLIANCE_MONITOR__ADAPTERS__0__SECRETS_ENV": '["AM_SECRET"]',
        "ALLIANCE_MONITOR__ADAPTERS__1__TYPE": "jsonl",
        "ALLIANCE_MONITOR__ADAPTERS__1__FILE": str(tmp_path / "in.jsonl"),
        "ALLIANCE_MONITOR__ADAPTERS__1__FOLLOW": "false",
        "ALLIANCE_MONITOR__MONITOR__WINDOW__MAX_EXCHANGES": "4",
        "ALLIANCE_MONITOR__MONITOR__STORE": "sqlite:///state.db",
        "ALLIANCE_MONITOR__MONITOR__INCLUDE_TEXT": "true",
        "ALLIANCE_MONITOR__ALERTS__ENDPOINTS__0__URL": "https://hooks.example.org/a",
        "ALLIANCE_MONITOR__ALERTS__ENDPOINTS__0__SECRETS_ENV": '["AM_SECRET"]',
        "ALLIANCE_MONITOR__ALERTS__ENDPOINTS__0__EVENT_TYPES": '["safety_signal"]',
        "ALLIANCE_MONITOR__SCORER__OPTIONS": "{ timeout = 30 }",
        "AM_SECRET": SECRET,
    }
    s = load_settings(None, env)
    assert isinstance(s.adapters[0], HttpSettings) and s.adapters[0].secrets_env == ["AM_SECRET"]
    assert s.adapters[1].type == "jsonl" and s.adapters[1].follow is False
    assert s.monitor.window == {"max_exchanges": 4} and s.monitor.include_text is True
    assert s.monitor.store == "sqlite:///state.db"
    assert s.alerts is not None and s.alerts.endpoints[0].event_types == ["safety_signal"]
    assert s.scorer.options == {"timeout": 30}


def test_environment_changes_one_key_of_a_list_entry_of_the_file(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        '[[adapters]]\ntype = "http"\nsecrets_env = ["AM_SECRET"]\ntolerance = 60\n'
        '[[adapters]]\ntype = "slack"\nsecrets_env = ["AM_SECRET"]\n',
    )
    env = {"AM_SECRET": SECRET, "ALLIANCE_MONITOR__ADAPTERS__1__PATH": "/hooks/team-chat"}
    s = load_settings(cfg, env)
    assert s.adapters[1].type == "slack" and s.adapters[1].path == "/hooks/team-chat"
    assert isinstance(s.adapters[0], HttpSettings) and s.adapters[0].tolerance == 60


def test_lists_grow_in_order_of_position_not_of_name() -> None:
    env = {f"ALLIANCE_MONITOR__ALERTS__ALLOWED_HOSTS__{i}": f"h{i}.example.org" for i in range(12)}
    s = load_settings(None, env)
    assert s.alerts is not None
    assert s.alerts.allowed_hosts == [f"h{i}.example.org" for i in range(12)]


@pytest.mark.parametrize(
    ("env", "pattern"),
    [
        ({"ALLIANCE_MONITOR__SERVER__PORT": "s3cr3t-value"}, r"server\.port: .*integer.*"
         r"\(set by ALLIANCE_MONITOR__SERVER__PORT\)"),
        ({"ALLIANCE_MONITOR__SERVR__PORT": "1"}, r"servr: Extra inputs .*"
         r"\(set by ALLIANCE_MONITOR__SERVR__PORT\)"),
        ({"ALLIANCE_MONITOR__ADAPTERS__2__PATH": "/x"}, r"ADAPTERS__2__PATH: adapters\[2\] leaves"),
        ({"ALLIANCE_MONITOR__SERVER__PORT__0": "1"}, r"server\.port: .*\(set by .*PORT__0\)"),
        ({"ALLIANCE_MONITOR__SERVER__PORT": "1", "ALLIANCE_MONITOR__SERVER__PORT__0": "1"},
         r"PORT__0: server\.port is a value, not a table"),
        ({"ALLIANCE_MONITOR____PORT": "1"}, "an empty key"),
        ({"ALLIANCE_MONITOR__0__PORT": "1"}, "first key must be a section"),
        ({"ALLIANCE_MONITOR__ADAPTERS__0__TYPE": "slack", "ALLIANCE_MONITOR__ADAPTERS__0__"
          "TOLERANCE": "s3cr3t-value", "ALLIANCE_MONITOR__ADAPTERS__0__SECRETS_ENV": '["X"]'},
         r"adapters\[0\]\.slack\.tolerance: .*\(set by ALLIANCE_MONITOR__ADAPTERS__0__TOLERANCE\)"),
    ],
)  # fmt: skip
def test_errors_name_the_variable_never_the_value(env: dict[str, str], pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern) as info:
        load_settings(None, {"X": "x", **env})
    assert "s3cr3t-value" not in str(info.value)


def test_other_programs_variables_are_ignored() -> None:
    env = {"ALLIANCE_MONITOR_TEST_REDIS_URL": "redis://x", "PATH": "/bin", "HOME": "/root"}
    assert env_overrides(env) == {}
    assert load_settings(None, env) == Settings()


def test_a_string_that_starts_with_a_bracket_stays_a_string() -> None:
    s = load_settings(None, {"ALLIANCE_MONITOR__SERVER__HOST": "[::1"})
    assert s.server.host == "[::1"
    s = load_settings(None, {"ALLIANCE_MONITOR__SUPERVISOR__HOST": "::1"})
    assert s.supervisor.host == "::1"


# ---------------------------------------------------------------------- every setting
def _leaves(model: type[BaseModel], path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    """Every setting of `model` with a value to set it to (one different from the default where
    the type allows), recursing into sections."""
    out: list[tuple[tuple[str, ...], Any]] = []
    hints = typing.get_type_hints(model)
    for name, field in model.model_fields.items():
        hint = hints[name]
        listed = typing.get_origin(hint) is list
        inner = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        inner = [hint] if listed else inner
        section = inner[0] if isinstance(inner[0], type) else None
        if section is not None and issubclass(section, BaseModel):
            out += _leaves(section, (*path, name))
            continue
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        value = "https://other.example.org/b" if name == "url" else _value_for(hint, default)
        out.append(((*path, name), value))
    return out


def _value_for(hint: Any, default: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if type(None) in typing.get_args(hint) and len(args) == 1:
        hint = args[0]  # X | None
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        return next((c for c in choices if c != default), choices[0])
    if hint is bool:
        return not default
    if hint is int:
        return int(default or 0) + 1
    if hint is float:
        return float(default or 0) + 1.5
    if origin is list:
        return []
    if origin is dict:
        return {}
    if isinstance(default, str) and default.startswith("/"):
        return default + "-x"
    return "some-value" if default is None or isinstance(default, str) else default


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value == []:
        return "[]"
    if value == {}:
        return "{}"
    return str(value)


def test_every_setting_can_be_set_from_the_environment() -> None:
    # The lists of tables (adapters, alert endpoints) are reached through their entries' keys.
    tables = {("adapters",), ("alerts", "endpoints")}
    leaves = [(p, v) for p, v in _leaves(Settings, ()) if p not in tables]
    leaves += [(("alerts", "endpoints", "0", *p), v) for p, v in _leaves(AlertEndpointSettings, ())]
    leaves += [(("adapters", "0", *p), v) for p, v in _leaves(HttpSettings, ())]
    names = {".".join(p) for p, _ in leaves}
    assert {"server.port", "monitor.max_pairs", "alerts.allow_private", "ratings.store"} <= names
    assert len(leaves) >= 50
    for path, value in leaves:
        var = {"ALLIANCE_MONITOR__" + "__".join(path).upper(): _text(value)}
        env: dict[str, str] = {}
        if path[0] == "adapters":
            env |= {"ALLIANCE_MONITOR__ADAPTERS__0__TYPE": "http"}
            if path[-1] not in ("secrets_env", "secrets"):
                env |= {"ALLIANCE_MONITOR__ADAPTERS__0__SECRETS": f'["{SECRET}"]'}
            elif value == []:
                continue  # an adapter needs one secret or the other
        if path[:2] == ("alerts", "endpoints"):
            env |= {"ALLIANCE_MONITOR__ALERTS__ENDPOINTS__0__URL": "https://h.example.org/a"}
            if path[-1] not in ("url",):
                env |= {"ALLIANCE_MONITOR__ALERTS__ENDPOINTS__0__SECRETS": f'["{SECRET}"]'}
        if path[0] == "scorer" and path[-1] == "kind":
            env |= {"ALLIANCE_MONITOR__SCORER__BASE_URL": "http://x", "ALLIANCE_MONITOR__SCORER__"
                    "MODEL": "m"}  # fmt: skip
        if path[0] in ("ratings", "admin") and path[-1] == "enabled":
            env |= {f"ALLIANCE_MONITOR__{path[0].upper()}__SECRETS": f'["{SECRET}"]'}
        if path[0] == "supervisor" and path[-1] == "listener":
            env |= {"ALLIANCE_MONITOR__SUPERVISOR__TOKEN_ENV": "AM_TOKEN", "AM_TOKEN": "t"}
        if path[-1].endswith("_env") and value == "some-value":
            env |= {"some-value": "a secret"}
        s = load_settings(None, env | var)
        node: Any = s
        for key in path:
            node = node[int(key)] if key.isdigit() else getattr(node, key)
        if hasattr(node, "get_secret_value"):
            node = node.get_secret_value()
        got = (
            [x.get_secret_value() if hasattr(x, "get_secret_value") else x for x in node]
            if (isinstance(node, list))
            else node
        )
        assert got == value, path
