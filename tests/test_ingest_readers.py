"""Readers, archives and column-mapping profiles: no database needed."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from cropmrv.ingest.profiles import fold, land_use_codes, profile_for, unknown_land_use
from cropmrv.ingest.readers import InputError, iter_chunks, open_source, read_cpg, safe_extract
from cropmrv.ingest.staging import hex_wkb

from .conftest import DATA
from .data.ingest import make_fixtures as fx

PARCELS = DATA / "ingest" / "parcels_bmt.shp"
HKTB = DATA / "vn2000" / "hktb.shp"


def test_open_shapefile_describes_without_reading_features():
    with open_source(PARCELS) as src:
        assert src.driver == "ESRI Shapefile"
        assert src.feature_count == 48
        assert src.cpg == "utf-8"
        assert src.crs_wkt.startswith("PROJCS")
        assert {"SoTo", "SoThua", "LoaiDat", "DienTich", "MaXa", "TenChu"} <= set(src.fields)
        assert len(src.sha256) == 64


def test_chunks_are_bounded_and_numbered_from_one():
    with open_source(HKTB) as src:
        chunks = list(iter_chunks(src, batch_size=1000))
    assert [len(c.fids) for c in chunks] == [1000, 1000, 1000, 950]
    assert chunks[0].fids[0] == 1 and chunks[-1].fids[-1] == 3950
    assert "SOHIEUTOBA" in chunks[0].attrs.columns


@pytest.mark.parametrize("missing", [".shx", ".dbf"])
def test_missing_sidecar_is_named(tmp_path, missing):
    shp = fx.copy_shapefile(PARCELS, tmp_path, skip=(missing,))
    with pytest.raises(InputError, match=rf"parcels_bmt\{missing}"), open_source(shp):
        pass


def test_truncated_shp(tmp_path):
    shp = fx.truncated(PARCELS, tmp_path)
    with pytest.raises(InputError, match="truncated"), open_source(shp):
        pass


def test_empty_file(tmp_path):
    for name in ("empty.shp", "empty.geojson", "empty.zip"):
        p = tmp_path / name
        p.write_bytes(b"")
        with pytest.raises(InputError, match="empty"), open_source(p):
            pass


def test_not_a_shapefile(tmp_path):
    shp = fx.copy_shapefile(PARCELS, tmp_path)
    shp.write_bytes(b"x" * 200)
    with pytest.raises(InputError, match="not a shapefile"), open_source(shp):
        pass


def test_nested_zip_is_found_and_cleaned_up(tmp_path):
    z = fx.nested_zip(PARCELS, tmp_path / "xa.zip")
    with open_source(z) as src:
        inner = src.data_path
        assert inner.exists() and inner.name == "parcels_bmt.shp"
        assert "xa_bmt/ban_do/2025" in inner.as_posix()
        assert src.path == z
    assert not inner.exists()


@pytest.mark.parametrize("member", ["../../etc/cron.d/evil", "/tmp/evil.txt", "ok/../../evil", "C:/Windows/evil"])
def test_zip_with_unsafe_path_is_refused_before_writing(tmp_path, member):
    z = fx.evil_zip(PARCELS, tmp_path / "evil.zip", member)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(InputError, match="refused for safety"):
        safe_extract(z, dest)
    assert list(dest.iterdir()) == []


def test_zip_bomb_is_refused(tmp_path):
    z = fx.bomb_zip(tmp_path / "bomb.zip")
    assert z.stat().st_size < 200_000
    with pytest.raises(InputError, match="zip bomb"), open_source(z):
        pass


def test_zip_with_two_shapefiles_asks_which(tmp_path):
    z = tmp_path / "two.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for stem in ("a", "b"):
            for p in fx.shapefile_parts(PARCELS):
                zf.write(p, f"{stem}/{stem}{p.suffix}")
    with pytest.raises(InputError, match="--source-layer"), open_source(z):
        pass
    with open_source(z, source_layer="b") as src:
        assert src.data_path.name == "b.shp"


def test_gpkg_layer_choice(tmp_path):
    g = fx.two_layer_gpkg(PARCELS, tmp_path / "two.gpkg")
    with pytest.raises(InputError, match="thua_dat"), open_source(g):
        pass
    with open_source(g, source_layer="ranh_gioi") as src:
        assert src.feature_count == 10 and src.layer == "ranh_gioi"
    with pytest.raises(InputError, match="no layer 'nope'"), open_source(g, source_layer="nope"):
        pass


def test_cpg_values(tmp_path):
    for raw, codec in (("UTF-8", "utf-8"), ("65001", "utf-8"), ("1258", "cp1258"), ("ANSI 1258", "cp1258"),
                       ("weird", None)):
        p = tmp_path / "x.cpg"
        p.write_text(raw)
        assert read_cpg(p) == codec


def test_hex_wkb_matches_shapely():
    import shapely

    g = np.array([shapely.box(0, 0, 1, 1), shapely.Point(1.5, 2), shapely.box(5, 5, 9, 9).buffer(1)], dtype=object)
    assert hex_wkb(g).to_pylist() == list(shapely.to_wkb(g, hex=True))


# -- profiles ---------------------------------------------------------------------------------------
def test_builtin_profiles_map_real_names():
    p = profile_for("parcels")
    hktb = ["FEATUREID", "GUID", "PARENTGUID", "MADOITUONG", "SOHIEUT001", "SOTHUTU001", "SOHIEUTOBA",
            "SOTHUTUTHU", "KYHIEUDOIT"]
    assert p.resolve(hktb) == {"map_sheet": "SOHIEUTOBA", "parcel_no": "SOTHUTUTHU"}
    assert p.resolve(["SoTo", "So_Thua", "MDSD", "Dien_Tich", "MaXa"]) == {
        "commune_code": "MaXa", "map_sheet": "SoTo", "parcel_no": "So_Thua", "land_use_code": "MDSD",
        "area_m2": "Dien_Tich"}
    assert p.resolve(["SHBANDO", "KHMDSD"]) == {"map_sheet": "SHBANDO", "land_use_code": "KHMDSD"}


def test_yaml_mapping_overrides(tmp_path):
    y = tmp_path / "map.yaml"
    y.write_text("columns:\n  parcel_no: SOTHUTU001\n  map_sheet: [SOHIEUT001]\n", encoding="utf-8")
    p = profile_for("parcels", y)
    assert p.resolve(["SOTHUTU001", "SOTHUTUTHU", "SOHIEUT001", "SOHIEUTOBA"]) == {
        "map_sheet": "SOHIEUT001", "parcel_no": "SOTHUTU001"}
    short = profile_for("parcels", {"land_use_code": "LOAI"})
    assert short.resolve(["LOAI"]) == {"land_use_code": "LOAI"}
    with pytest.raises(ValueError, match="not a parcels column"):
        profile_for("parcels", {"columns": {"crop": "X"}})


def test_value_spellings_fold_accents_and_case():
    p = profile_for("crop_zones", {"values": {"crop": {"coffee": ["cf"]}}})
    assert p.normalise_value("crop", "Cà Phê") == "coffee"
    assert p.normalise_value("crop", "CF") == "coffee"
    assert p.normalise_value("season", "Đông Xuân") == "dong_xuan"
    assert fold("Dien_Tich") == fold("DIENTICH") == fold("diện tích")


def test_land_use_codes_of_circular_08_2024():
    codes = land_use_codes()
    for c in ("LUA", "LUC", "LUK", "LUN", "CLN", "HNK", "BHK", "NHK", "RSX", "RPH", "RDD", "NTS", "ONT", "ODT"):
        assert c in codes, c
    assert unknown_land_use("ONT+CLN") == []
    assert unknown_land_use("ONT+XYZ") == ["XYZ"]
    assert unknown_land_use(None) == []
