"""The room catalogue: the shipped file loads, and a bad file says clearly what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from causerie.chat.rooms import CatalogueError, load_catalogue, room_name_key
from causerie.domain import AgeBand, Audience
from causerie.protocol.geo import REGIONS

ROOM = '[[room]]\nid = "{id}"\nname = "{name}"\n'


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "rooms.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def test_the_shipped_catalogue_has_the_seed_rooms_and_one_room_per_region() -> None:
    rooms = load_catalogue(None)
    themed = {r.name: r for r in rooms if r.kind == "themed"}
    for name in ("Général", "Amitié", "Musique", "Jeux vidéo", "Sport", "Cinéma",
                 "18-25 ans", "25-40 ans", "Plus de 40 ans"):  # fmt: skip
        assert name in themed, name
    regional = [r for r in rooms if r.kind == "regional"]
    assert {r.region_code for r in regional} == {region.code for region in REGIONS}
    assert all(r.id.startswith("region-") and r.audience == "all" for r in regional)
    assert len({r.id for r in rooms}) == len(rooms)
    assert len({r.name_key for r in rooms}) == len(rooms)


def test_age_rooms_of_the_shipped_catalogue_keep_minors_out_of_adult_rooms() -> None:
    themed = {r.name: r for r in load_catalogue(None) if r.kind == "themed"}
    for name in ("18-25 ans", "25-40 ans", "Plus de 40 ans"):
        assert themed[name].audience == "adults", name


def test_themed_rooms_come_first_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, ROOM.format(id="zeta", name="Zêta") + ROOM.format(id="alpha", name="A"))
    rooms = load_catalogue(path)
    assert [r.id for r in rooms[:2]] == ["zeta", "alpha"]
    assert rooms[0].position < rooms[1].position < rooms[2].position
    assert rooms[0].name_key == room_name_key("zeta") == "zeta"
    assert len(rooms) == 2 + len(REGIONS)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("[[room]\nid = ", "rooms.toml"),
        ("", "room"),
        ('[[room]]\nid = "a"\n', "name"),
        ('[[room]]\nid = "a"\nname = "A"\ncolour = "red"\n', "colour"),
        ('[[room]]\nid = "a"\nname = "A"\naudience = "kids"\n', "audience"),
        ('[[room]]\nid = 5\nname = "A"\n', "id"),
        (ROOM.format(id="Bad Id", name="A"), "Bad Id"),
        (ROOM.format(id="", name="A"), "''"),
        (ROOM.format(id="a" * 81, name="A"), "a-z"),
        (ROOM.format(id="music", name="Musique") + ROOM.format(id="music", name="M2"), "twice"),
        (ROOM.format(id="region-bretagne", name="Bzh"), "reserved"),
        (ROOM.format(id="a", name="  "), "empty name"),
        (ROOM.format(id="a", name="Musique") + ROOM.format(id="b", name="musiqué"), "same name"),
        (ROOM.format(id="bzh", name="Bretagne"), "same name"),
    ],
)
def test_bad_catalogue_files_give_a_clear_error(tmp_path: Path, text: str, hint: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    assert str(path) in str(caught.value)
    assert hint in str(caught.value)


def test_a_missing_file_is_a_catalogue_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read rooms file"):
        load_catalogue(tmp_path / "nowhere.toml")


def test_a_file_that_is_not_utf8_is_a_catalogue_error(tmp_path: Path) -> None:
    path = write(tmp_path, ROOM.format(id="a", name="Caf\xe9").encode("latin-1"))
    with pytest.raises(CatalogueError, match="UTF-8"):
        load_catalogue(path)


def test_room_names_and_topics_must_fit_the_store(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="name"):
        load_catalogue(write(tmp_path, ROOM.format(id="a", name="n" * 81)))
    with pytest.raises(CatalogueError, match="topic"):
        load_catalogue(write(tmp_path, ROOM.format(id="a", name="A") + f'topic = "{"t" * 401}"\n'))


@pytest.mark.parametrize(
    ("band", "audience", "allowed"),
    [("13-14", "all", True), ("15-17", "teens", True), ("15-17", "adults", False),
     ("13-14", "adults", False), ("18+", "adults", True), ("18+", "teens", False),
     ("18+", "all", True)],
)  # fmt: skip
def test_who_may_enter_which_audience(band: str, audience: str, allowed: bool) -> None:
    assert Audience(audience).admits(AgeBand(band)) is allowed
