"""The protocol and client documents describe the code as it is."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from causerie.client import Client
from causerie.errors import ErrorCode
from causerie.protocol import frames

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _tags(union: object) -> set[str]:
    return {str(t.__struct_config__.tag) for t in union.__args__}  # type: ignore[attr-defined]


def test_every_frame_type_is_documented() -> None:
    text = (DOCS / "protocol.md").read_text("utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))
    missing = (_tags(frames.ClientFrame) | _tags(frames.ServerFrame)) - documented
    assert not missing, f"frame types missing from docs/protocol.md: {sorted(missing)}"


def test_every_error_code_is_documented() -> None:
    text = (DOCS / "protocol.md").read_text("utf-8")
    missing = {code.value for code in ErrorCode} - set(re.findall(r"`([a-z_]+)`", text))
    assert not missing, f"error codes missing from docs/protocol.md: {sorted(missing)}"


def test_every_public_client_method_is_documented() -> None:
    text = (DOCS / "client.md").read_text("utf-8")
    public = {
        name
        for name, member in inspect.getmembers(Client)
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
    }
    missing = {name for name in public if f"`{name}" not in text}
    assert not missing, f"client methods missing from docs/client.md: {sorted(missing)}"


def test_every_setting_is_documented() -> None:
    from causerie.settings import Settings

    text = (DOCS / "configuration.md").read_text("utf-8")
    missing = []
    for section_name, section in Settings.model_fields.items():
        section_text = text.split(f"## `[{section_name}]`", 1)
        if len(section_text) < 2:
            missing.append(f"[{section_name}]")
            continue
        body = section_text[1].split("\n## ", 1)[0]
        model = section.annotation
        for field in model.model_fields:  # type: ignore[union-attr]
            if f"`{field}`" not in body:
                missing.append(f"{section_name}.{field}")
    assert not missing, f"settings missing from docs/configuration.md: {missing}"
