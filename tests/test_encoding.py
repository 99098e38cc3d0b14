"""Encoding detection on real DBFs written in each legacy encoding, and the latin1 re-decoding path."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from cropmrv.ingest.codecs import encode
from cropmrv.ingest.encoding import (
    ASCII_COMPATIBLE,
    decode_frame_columns,
    detect_encoding,
    detect_frame_encoding,
    latin1_to_bytes,
)
from cropmrv.ingest.vietnamese import COMMON_SYLLABLES, is_syllable

REPO = Path(__file__).resolve().parents[1]
WARDS = REPO / "cropmrv/data/provinces/66/dak_lak_wards_2025.gpkg"


@pytest.fixture(scope="module")
def wards() -> gpd.GeoDataFrame:
    g = gpd.read_file(WARDS, layer="xa_phuong_2025")
    for col in ("ten", "ten_day_du", "truoc_sap_nhap"):
        g[col] = g[col].str.normalize("NFC")
    return g


def write_legacy_dbf(path: Path, wards: gpd.GeoDataFrame, encoding: str, n: int | None = None) -> Path:
    """Write a shapefile whose DBF text bytes are ``encoding``, with no .cpg (as offices send them)."""
    g = wards if n is None else wards.iloc[:: max(1, len(wards) // n)].head(n)
    errors = "tcvn3-lower" if encoding == "tcvn3" else "strict"

    def to_latin1(s: str) -> str:
        return encode(s, encoding, errors).decode("latin-1")

    df = gpd.GeoDataFrame(
        {"TEN": g["ten"].map(to_latin1), "TENDAYDU": g["ten_day_du"].map(to_latin1), "MAXA": g["ma_xa"]},
        geometry=g.geometry.representative_point().to_numpy(),
        crs="EPSG:4326",
    )
    shp = path / f"wards_{encoding}.shp"
    pyogrio.write_dataframe(df, shp, encoding="latin1")
    shp.with_suffix(".cpg").unlink()
    return shp


@pytest.mark.parametrize("n", [None, 20, 5])
@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "cp1258", "utf-8"])
def test_detects_encoding_of_ward_dbfs(tmp_path, wards, encoding, n):
    shp = write_legacy_dbf(tmp_path, wards, encoding, n)
    assert not shp.with_suffix(".cpg").exists()
    raw = pyogrio.read_dataframe(shp, encoding="latin1")
    guess = detect_frame_encoding(raw)
    assert guess.encoding == encoding, guess
    assert guess.confidence > 0.5, guess
    assert set(guess.scores) == {"utf-8", "cp1258", "tcvn3", "vni"}
    decoded = decode_frame_columns(raw, guess.encoding)
    expected = wards["ten_day_du"] if n is None else None
    if expected is not None:
        got = decoded["TENDAYDU"]
        if encoding == "tcvn3":  # ABC keeps no case for upper-case toned letters
            assert list(got.str.lower()) == list(expected.str.lower())
        else:
            assert list(got) == list(expected)
    assert all(unicodedata.is_normalized("NFC", v) for v in decoded["TEN"])
    assert decoded["MAXA"].equals(raw["MAXA"]) and decoded.geometry.equals(raw.geometry)


def test_detects_longer_text_not_in_the_syllable_table(wards):
    # the pre-merger names (286 old communes) are mostly not in the common-syllable table's focus
    texts = list(wards["truoc_sap_nhap"]) + ["Đất trồng cây lâu năm, tưới nhỏ giọt; hộ ông Nguyễn Văn Thưởng"]
    for name in ("tcvn3", "vni", "cp1258", "utf-8"):
        # an ABC keyboard types the ASCII apostrophe: TCVN3 has no ’
        typed = [t.replace("’", "'") for t in texts] if name == "tcvn3" else texts
        samples = [encode(t, name, "tcvn3-lower" if name == "tcvn3" else "strict") for t in typed]
        assert detect_encoding(samples).encoding == name


def test_ascii_only_is_ascii_compatible():
    guess = detect_encoding([b"Ea Kar", b"Krong Pac", b"", b"LUA"])
    assert guess.encoding == ASCII_COMPATIBLE and guess.codec == "utf-8" and guess.confidence == 1.0
    frame = pd.DataFrame({"a": ["Ea Kar", None], "n": [1, 2]})
    assert decode_frame_columns(frame, guess.encoding).equals(frame)


def test_latin1_is_byte_preserving_through_pyogrio(tmp_path):
    every_byte = bytes(range(0x80, 0x100)).decode("latin-1")
    df = gpd.GeoDataFrame({"T": [every_byte]}, geometry=gpd.points_from_xy([108.0], [12.7]), crs=4326)
    pyogrio.write_dataframe(df, tmp_path / "b.shp", encoding="latin1")
    back = pyogrio.read_dataframe(tmp_path / "b.shp", encoding="latin1")
    assert latin1_to_bytes(back["T"][0]) == bytes(range(0x80, 0x100))


def test_syllable_model():
    assert all(is_syllable(w) for w in COMMON_SYLLABLES)
    for ok in ("người", "nghiêng", "Hoà", "hòa", "thuỷ", "quốc", "giường", "khuếch", "Đắk", "Lắk"):
        assert is_syllable(ok), ok
    # what wrong decodings produce
    for bad in ("Buoõn", "Phýừèng", "thuơịt", "chaứo", "ViÖt", "hờk"):
        assert not is_syllable(bad), bad


LEGACY = REPO / "tests/data/legacy"
FIXTURES = {
    "communes_tcvn3_noprj": "tcvn3",
    "communes_vni": "vni",
    "communes_cp1258": "cp1258",
    "communes_utf8": "utf-8",
}


@pytest.mark.parametrize(("stem", "encoding"), FIXTURES.items())
def test_detects_committed_fixtures(stem, encoding, wards):
    shp = LEGACY / f"{stem}.shp"
    assert shp.with_suffix(".cpg").exists() == (encoding == "utf-8")
    raw = pyogrio.read_dataframe(shp, encoding="latin1")
    assert len(raw) == 21
    guess = detect_frame_encoding(raw)
    assert guess.encoding == encoding, guess
    decoded = decode_frame_columns(raw, guess.encoding)
    truth = wards.set_index("ma_xa").loc[decoded["MAXA"], "ten"]
    assert list(decoded["TEN"].str.lower()) == list(truth.str.lower())
    if encoding != "tcvn3":
        assert list(decoded["TEN"]) == list(truth)


def test_fixtures_are_reproducible(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fixtures", LEGACY / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for shp in module.main(tmp_path):
        assert shp.with_suffix(".dbf").read_bytes() == (LEGACY / shp.name).with_suffix(".dbf").read_bytes()
        ours = pyogrio.read_dataframe(shp)
        committed = pyogrio.read_dataframe(LEGACY / shp.name)
        assert ours.geometry.geom_equals_exact(committed.geometry, tolerance=0.02).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in LEGACY.iterdir() if p.suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg")
    )
