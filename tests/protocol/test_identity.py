"""Who a chatter says they are: nickname, age, gender and postal code, checked without I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causerie.errors import ChatError, ErrorCode
from causerie.protocol.frames import GENDERS
from causerie.protocol.identity import (
    MAX_AGE,
    MIN_AGE,
    ReservedNamesError,
    age_band,
    check_identity,
    check_nickname,
    load_reserved_names,
    nickname_key,
    nickname_spelling,
)
from causerie.text import fold


def refusal(nickname: str = "Zoe", age: int = 30, gender: str = "woman", postal: str = "75011"):  # type: ignore[no-untyped-def]
    with pytest.raises(ChatError) as caught:
        check_identity(nickname, age, gender, postal)
    return caught.value


# -- nickname -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nickname",
    ["Zoé", "abc", "a" * 20, "Jean-Luc", "jean.luc_75", "Мария", "Ελένη", "山田さん", "ラーメン",
     "Zoe\u0301"],
)  # fmt: skip
def test_valid_nicknames(nickname: str) -> None:
    assert check_nickname(nickname)


def test_nickname_is_stripped_and_composed() -> None:
    assert check_nickname("  Zoe\u0301 ") == "Zoé"


@pytest.mark.parametrize(
    "nickname",
    ["ab", "a" * 21, "", "   ", "  ab  "],
)
def test_nickname_has_3_to_20_characters(nickname: str) -> None:
    error = refusal(nickname)
    assert (error.code, error.detail["field"]) == (ErrorCode.NICKNAME_INVALID, "nickname")
    assert "3" in error.message and "20" in error.message


@pytest.mark.parametrize(
    "nickname",
    ["Zoe Dupont", "zoe@home", "1zoe", "_zoe", "-zoe", "zoe!", "zoe😀", "zo\u200be", "zo\ne",
     "<script>"],
)  # fmt: skip
def test_nickname_charset(nickname: str) -> None:
    assert refusal(nickname).code == ErrorCode.NICKNAME_INVALID


@pytest.mark.parametrize("nickname", ["Pаul", "Zое", "Ρaul", "abcЖ"])
def test_nickname_mixing_alphabets_is_refused(nickname: str) -> None:
    error = refusal(nickname)
    assert error.code == ErrorCode.NICKNAME_INVALID
    assert "alphabet" in error.message


def test_nickname_needs_three_letters_or_digits_besides_joiners() -> None:
    assert refusal("a.-_").code == ErrorCode.NICKNAME_INVALID


@pytest.mark.parametrize(
    "same",
    ["zoe", "ZOE", "Zoé", "ZOÉ", "zoë", "Z0e", "Zое", "Ｚｏｅ", "Z.o-e", "z_o_e", "Zoe\u0301"],
)
def test_nickname_key_ignores_case_accents_lookalikes_width_and_joiners(same: str) -> None:
    assert nickname_key(same) == nickname_key("Zoe") == "zoe"


@pytest.mark.parametrize(("a", "b"), [("Rose", "R0se"), ("Paul", "Pau1"), ("Noel", "Noël")])
def test_digits_that_stand_for_letters_are_the_same_nickname(a: str, b: str) -> None:
    assert nickname_key(a) == nickname_key(b)


@pytest.mark.parametrize(("a", "b"), [("Zoe", "Zoey"), ("Lea", "Leo"), ("Anna", "Anne2")])
def test_different_nicknames_have_different_keys(a: str, b: str) -> None:
    assert nickname_key(a) != nickname_key(b)


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(st.text(max_size=40))
def test_nickname_key_is_idempotent(text: str) -> None:
    key = nickname_key(text)
    assert nickname_key(key) == key


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(st.text(max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(st.text(max_size=30))
def test_check_nickname_accepts_or_refuses_with_nickname_invalid(text: str) -> None:
    try:
        accepted = check_nickname(text)
    except ChatError as error:
        assert error.code in (ErrorCode.NICKNAME_INVALID, ErrorCode.NICKNAME_RESERVED)
    else:
        assert 3 <= len(accepted) <= 20
        assert len(nickname_spelling(accepted)) >= 3


# Issue 12, finding 6: each of these was accepted while "Camille" was online.
@pytest.mark.parametrize(
    "lookalike",
    ["CamiIle", "Carnille", "Cami\u029f\u029fe", "Cami\u0142le", "Cami\ufb02e", "CAMILLE",
     "\u0421\u0430millе", "\u0421\u0430\u043c\u0456\u04cf\u04cf\u0435"],
)  # fmt: skip
def test_lookalikes_of_a_nickname_have_its_key(lookalike: str) -> None:
    assert nickname_key(lookalike) == nickname_key("Camille")


def test_an_all_cyrillic_lookalike_is_a_valid_nickname_with_the_latin_key() -> None:
    cyrillic = "\u0421\u0430\u043c\u0456\u04cf\u04cf\u0435"
    assert check_identity(cyrillic, 30, "woman", "75011").key == nickname_key("Camille")


@pytest.mark.parametrize(
    ("a", "b"),
    [("Marie", "Mario"), ("Anne", "Anna"), ("Romain", "Roman"), ("Camille", "Camilla"),
     ("Lina", "Luna"), ("Emma", "Emme")],
)  # fmt: skip
def test_distinct_names_do_not_collide(a: str, b: str) -> None:
    assert nickname_key(a) != nickname_key(b)


def test_rn_and_m_fold_alike_on_both_sides() -> None:
    # The key is unique in presence: whoever comes first, the other is the same nickname.
    assert nickname_key("Bernard") == nickname_key("Bemard")
    assert nickname_key("Carnille") == nickname_key("Camille")
    # Still three letters: "rn" counts twice for the length rule.
    assert check_nickname("Arn") == "Arn"


def test_the_spelling_keeps_i_l_and_rn_apart() -> None:
    # The legal store's blind indexes use the spelling: a scope names what the authority wrote.
    assert nickname_spelling("CamiIle") != nickname_spelling("Camille")
    assert nickname_spelling("ZOÉ") == nickname_spelling("Z0e") == "zoe"


@pytest.mark.parametrize(
    "nickname",
    ["Admin", "admin", "Adm1n", "ADMlN", "Admin75", "ModoBob", "Modo", "Moderateur", "Modératrice",
     "Police", "P0lice", "LaPolice", "Gendarmerie", "Officiel", "Causerie", "Support", "Staff",
     "System", "Système", "xx_admin", "Carnille_admin"],
)  # fmt: skip
def test_reserved_names_and_their_lookalikes_are_refused(nickname: str) -> None:
    error = refusal(nickname)
    assert (error.code, error.detail["field"]) == (ErrorCode.NICKNAME_RESERVED, "nickname")


@pytest.mark.parametrize("nickname", ["Modou", "Modou75", "Staffan", "Camille", "Policier", "Adam"])
def test_names_that_only_resemble_a_reserved_one_are_free(nickname: str) -> None:
    assert check_identity(nickname, 30, "man", "75011").nickname == nickname


def test_the_operators_reserved_list_replaces_the_shipped_one(tmp_path: Path) -> None:
    names = tmp_path / "reserved.txt"
    names.write_text("# ours\nSecurite\n!securitas\n")
    with pytest.raises(ChatError) as caught:
        check_identity("Sécurité2", 30, "man", "75011", reserved_names_file=names)
    assert caught.value.code == ErrorCode.NICKNAME_RESERVED
    assert check_identity("Admin", 30, "man", "75011", reserved_names_file=names)
    assert check_identity("Securitas", 30, "man", "75011", reserved_names_file=names)


def test_a_bad_reserved_list_names_the_line(tmp_path: Path) -> None:
    names = tmp_path / "reserved.txt"
    names.write_text("admin\n\nab\n")
    with pytest.raises(ReservedNamesError, match=r"reserved.txt:3: 'ab' is too short"):
        load_reserved_names(names)
    with pytest.raises(ReservedNamesError, match="unreadable"):
        load_reserved_names(tmp_path / "missing.txt")


def test_the_shipped_list_is_read_once() -> None:
    assert load_reserved_names() is load_reserved_names(None)


# -- age ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "code"),
    [(12, ErrorCode.AGE_TOO_YOUNG), (0, ErrorCode.AGE_TOO_YOUNG), (-1, ErrorCode.AGE_INVALID),
     (100, ErrorCode.AGE_INVALID), (10**30, ErrorCode.AGE_INVALID)],
)  # fmt: skip
def test_ages_out_of_range(age: int, code: ErrorCode) -> None:
    error = refusal(age=age)
    assert (error.code, error.detail["field"]) == (code, "age")


def test_too_young_says_from_which_age() -> None:
    assert str(MIN_AGE) in refusal(age=12).message


@pytest.mark.parametrize(
    ("age", "band"), [(MIN_AGE, "13-14"), (14, "13-14"), (15, "15-17"), (17, "15-17"),
                      (18, "18+"), (MAX_AGE, "18+")],
)  # fmt: skip
def test_ages_in_range_get_their_band(age: int, band: str) -> None:
    identity = check_identity("Zoe", age, "woman", "75011")
    assert (identity.age, identity.band) == (age, band)
    assert age_band(age) == band
    assert identity.band.is_minor == (age < 18)


# -- gender ---------------------------------------------------------------------------------


@pytest.mark.parametrize("gender", GENDERS)
def test_each_listed_gender_is_accepted(gender: str) -> None:
    assert check_identity("Zoe", 30, gender, "75011").gender == gender


@pytest.mark.parametrize("gender", ["", "Woman", "femme", "robot", " man"])
def test_other_genders_are_refused(gender: str) -> None:
    error = refusal(gender=gender)
    assert (error.code, error.detail["field"]) == (ErrorCode.GENDER_INVALID, "gender")


def test_genders_are_the_documented_list() -> None:
    assert set(GENDERS) == {"woman", "man", "nonbinary", "other"}


# -- postal code ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postal", "department", "region"),
    [
        ("75011", "75", "Île-de-France"),
        ("69003", "69", "Auvergne-Rhône-Alpes"),
        ("01000", "01", "Auvergne-Rhône-Alpes"),
        ("20000", "2A", "Corse"),
        ("20090", "2A", "Corse"),
        ("20169", "2A", "Corse"),
        ("20200", "2B", "Corse"),
        ("20600", "2B", "Corse"),
        ("97110", "971", "Guadeloupe"),
        ("97200", "972", "Martinique"),
        ("97300", "973", "Guyane"),
        ("97411", "974", "La Réunion"),
        ("97600", "976", "Mayotte"),
        (" 13 001 ", "13", "Provence-Alpes-Côte d'Azur"),
    ],
)
def test_postal_code_gives_department_and_region(postal: str, department: str, region: str) -> None:
    place = check_identity("Zoe", 30, "woman", postal).place
    assert (place.department, place.region.name) == (department, region)


@pytest.mark.parametrize(
    "postal",
    ["00000", "96000", "98000", "99999", "abcde", "7501", "750111", "", "7501a", "７５０１１",
     "97500", "2A000"],
)  # fmt: skip
def test_invalid_postal_codes(postal: str) -> None:
    error = refusal(postal=postal)
    assert (error.code, error.detail["field"]) == (ErrorCode.POSTAL_CODE_INVALID, "postal_code")


def test_the_first_bad_field_is_reported() -> None:
    assert refusal("x", 12, "robot", "00000").code == ErrorCode.NICKNAME_INVALID
    assert refusal("Zoe", 12, "robot", "00000").code == ErrorCode.AGE_TOO_YOUNG
    assert refusal("Zoe", 30, "robot", "00000").code == ErrorCode.GENDER_INVALID
