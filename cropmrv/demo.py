"""The end-to-end demo as library steps: what `cropmrv demo` (and `make demo`) runs.

Every step goes through the real path a user takes — the `cropmrv` commands themselves, invoked in
this process (so the ~100 ingests do not each pay for a Python start-up) — and fails loudly: a
command that exits non-zero stops the demo with :class:`DemoError` naming the step and the command.

Steps: database up and communes loaded → the GENERATED sample (made once per seed, scale and
generator version, then reused) → every file of the sample through `cropmrv ingest` → plan targets
→ baseline and project estimates → roll-up → inventory export and annual report under
``$CROPMRV_HOME/out/`` → (the CLI then serves the API and maps).

A second run is quick because nothing changed: identical files are no-ops in ingest (sha256), and
estimate runs with the same inputs digest are reused.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cropmrv.settings import Settings

Echo = Callable[[str], None]


class DemoError(RuntimeError):
    """A demo step failed; the message names the step, the command and what it printed."""


@dataclass
class DemoResult:
    sample_dir: Path
    out_dir: Path
    sample_reused: bool
    ingest: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def run_cli(args: list[str], step: str, capture: bool = True) -> str:
    """Run a `cropmrv` command in this process; return what it printed; raise DemoError on failure."""
    import typer.main

    from cropmrv.cli.main import app

    cmd = typer.main.get_command(app)
    buf = io.StringIO()
    redirect = (contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf)) if capture else ()
    with contextlib.ExitStack() as stack:
        for r in redirect:
            stack.enter_context(r)
        try:
            rc = cmd.main(args, prog_name="cropmrv", standalone_mode=False)
        except SystemExit as exc:  # typer.Exit inside nested apps may surface as SystemExit
            rc = exc.code
        except Exception as exc:
            raise DemoError(f"({step}) `cropmrv {' '.join(args)}` failed: {type(exc).__name__}: {exc}\n"
                            f"{buf.getvalue()}") from exc
    if rc not in (None, 0):
        raise DemoError(f"({step}) `cropmrv {' '.join(args)}` exited with {rc}:\n{buf.getvalue()}")
    return buf.getvalue()


# ------------------------------------------------------------------------------------- the steps
def step_database(settings: Settings, echo: Echo) -> None:
    from cropmrv.db.engine import make_engine
    from cropmrv.mrv.store import sync_reference_data

    run_cli(["db", "up"], "database")
    out = run_cli(["admin", "load"], "communes")
    echo(f"database ready; {out.strip().splitlines()[0] if out.strip() else 'communes loaded'}")
    # factor sets, GWP sets and the practice-package catalogue: pilot sites point to packages (FK), so
    # the catalogue must be in the database before they are ingested (no CLI command does it yet)
    eng = make_engine(settings)
    try:
        with eng.begin() as conn:
            ref = sync_reference_data(conn)
    finally:
        eng.dispose()
    parts = [" ".join(str(v) for v in (r["kind"], r["code"], r["status"]) if v) for r in ref]
    echo("reference data: " + ", ".join(parts))


def step_sample(work_dir: Path, seed: int, scale: str, echo: Echo) -> tuple[Path, dict, bool]:
    """Reuse ``<work_dir>/sample/<scale>-<seed>`` when its key and every file's sha256 match."""
    from cropmrv.sample import generate, sample_key

    folder = work_dir / "sample" / f"{scale}-{seed}"
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        m = json.loads(manifest_path.read_text(encoding="utf-8"))
        if m.get("key") == sample_key(seed, scale) and _files_intact(folder, m):
            echo(f"sample {m['key']} reused from {folder}")
            return folder, m, True
    res = generate(folder, seed=seed, scale=scale)
    c = res.manifest["counts"]
    echo(f"sample {res.manifest['key']} generated in {sum(res.seconds.values()):.1f} s → {folder}: "
         f"{c['crop_zone_rows']} crop-zone rows, {c['parcels']:,} parcels, {len(res.manifest['files'])} files "
         "(GENERATED data, see README.md there)")
    return folder, res.manifest, False


def _files_intact(folder: Path, m: dict) -> bool:
    import hashlib

    for f in m["files"]:
        p = folder / f["path"]
        if not p.exists() or hashlib.sha256(p.read_bytes()).hexdigest() != f["sha256"]:
            return False
    return True


def ingest_args(f: dict, sample_dir: Path, report: Path, year: int) -> list[str] | None:
    """The `cropmrv ingest` command line for one manifest entry (None: no ingest command for it)."""
    path = str(sample_dir / f["path"])
    if f["layer"] == "activity":
        args = ["ingest", "activity", path, "--year", str(f.get("year", year))]
    elif f["layer"] in ("parcels", "crop_zones", "planning_zones", "irrigation_assets", "irrigation_service_areas",
                        "pilot_sites"):
        args = ["ingest", "vector", path, "--layer", f["layer"]]
        if f.get("gpkg_layer"):
            args += ["--source-layer", f["gpkg_layer"]]
    elif f["layer"] == "irrigation_service":
        args = ["ingest", "links", path]
    else:
        return None
    if f.get("commune"):
        args += ["--commune", f["commune"]]
    return [*args, "--report", str(report), "--quiet"]


# the order a province would load: what others point to first
LAYER_ORDER = ["crop_zones", "parcels", "planning_zones", "irrigation_assets", "irrigation_service_areas",
               "irrigation_service", "pilot_sites", "activity"]


def step_ingest(settings: Settings, sample_dir: Path, manifest: dict, reports: Path, year: int,
                echo: Echo) -> tuple[list[dict], list[str]]:
    """Every file of the sample through `cropmrv ingest`; one summary line per layer, and per file
    where something was reported."""
    reports.mkdir(parents=True, exist_ok=True)
    files = sorted(manifest["files"], key=lambda f: (LAYER_ORDER.index(f["layer"]) if f["layer"] in LAYER_ORDER
                                                    else 99, f["path"]))
    done: list[dict] = []
    notices: list[str] = []
    for f in files:
        name = f["path"].replace("/", "__") + (f"__{f['gpkg_layer']}" if f.get("gpkg_layer") else "") + ".json"
        args = ingest_args(f, sample_dir, reports / name, year)
        if args is None:
            if f["layer"] == "plan_targets":
                continue  # loaded by step_targets
            notices.append(f"{f['path']}: no `cropmrv ingest` command takes the layer '{f['layer']}' yet — not loaded")
            echo(f"[yellow]not loaded[/] {notices[-1]}")
            continue
        run_cli(args, f"ingest {f['layer']}")
        rep = json.loads((reports / name).read_text(encoding="utf-8"))
        done.append({"path": f["path"], "layer": f["layer"], "commune": f.get("commune"), "status": rep.get("status"),
                     "read": rep.get("features_read"), "loaded": rep.get("features_loaded"),
                     "rejected": rep.get("rejected", 0), "crs": rep.get("crs_in"), "encoding": rep.get("encoding_in"),
                     "counts": rep.get("counts", {}), "report": str(reports / name),
                     "dataset_id": rep.get("dataset_id")})
    _validation_of_unchanged(settings, done)
    for layer in LAYER_ORDER:
        mine = [d for d in done if d["layer"] == layer]
        if not mine:
            continue
        status: dict[str, int] = {}
        for d in mine:
            status[d["status"]] = status.get(d["status"], 0) + 1
        issues: dict[str, int] = {}
        for d in mine:
            for code, acts in d["counts"].items():
                issues[code] = issues.get(code, 0) + sum(acts.values())
        crs = sorted({str(d["crs"]) for d in mine if d["crs"]})
        enc = sorted({str(d["encoding"]) for d in mine if d["encoding"]})
        echo(f"  {layer:<25} {len(mine):>3} file(s) {', '.join(f'{n} {s}' for s, n in sorted(status.items()))}; "
             f"read {sum(d['read'] or 0 for d in mine):,}, loaded {sum(d['loaded'] or 0 for d in mine):,}, "
             f"rejected {sum(d['rejected'] or 0 for d in mine)}"
             + (f"; CRS {', '.join(crs)}" if crs else "") + (f"; encodings {', '.join(enc)}" if enc else "")
             + (f"; report: {', '.join(f'{k}×{v}' for k, v in sorted(issues.items()))}" if issues else ""))
    return done, notices


def _validation_of_unchanged(settings: Settings, done: list[dict]) -> None:
    """An unchanged file's report says only "identical"; show the validation of the load it matches."""
    from sqlalchemy import text

    from cropmrv.db.engine import make_engine

    ids = {d["dataset_id"]: d for d in done if d["status"] == "unchanged" and d.get("dataset_id")}
    if not ids:
        return
    eng = make_engine(settings)
    try:
        with eng.connect() as conn:
            rows = conn.execute(text("SELECT id, feature_count, rejected_count, report -> 'counts' AS counts, crs_in, "
                                     "encoding_in "
                                     "FROM dataset WHERE id = ANY(:ids)"), {"ids": list(ids)}).mappings().all()
    finally:
        eng.dispose()
    for r in rows:
        d = ids[r["id"]]
        d.update(loaded=r["feature_count"], rejected=r["rejected_count"], counts=r["counts"] or {}, crs=r["crs_in"] or d["crs"],
                 encoding=r["encoding_in"] or d["encoding"])


def step_targets(sample_dir: Path, manifest: dict, echo: Echo) -> None:
    for f in manifest["files"]:
        if f["layer"] == "plan_targets":
            out = run_cli(["targets", "load", str(sample_dir / f["path"])], "plan targets")
            echo("  " + (out.strip().splitlines() or ["plan targets loaded"])[-1])


def step_estimates(year: int, echo: Echo) -> None:
    for scenario in ("baseline", "project"):
        out = run_cli(["estimate", "--year", str(year), "--scenario", scenario], f"estimate {scenario}")
        lines = [ln for ln in out.strip().splitlines() if ln.strip()]
        echo(f"  {scenario}: " + (lines[0] if lines else "done"))


def step_rollup(year: int, echo: Echo) -> dict[str, dict]:
    """Roll up both scenarios; print the province totals and the reduction the pilots bring."""
    out = {}
    for scenario in ("baseline", "project"):
        out[scenario] = json.loads(run_cli(["rollup", "--year", str(year), "--scenario", scenario, "--json"],
                                           f"roll-up {scenario}"))
    for scenario, r in out.items():
        p = r["province"]
        echo(f"  {scenario:<8} run {p['run_id']}: net {p['co2e_g'] / 1e6:,.3f} t CO2e (agriculture "
             f"{p['agriculture_co2e_g'] / 1e6:,.3f} t, cropland biomass 4.B.1 {p['lulucf_co2e_g'] / 1e6:,.3f} t) over "
             f"{float(p['area_ha']):,.0f} ha in {p['communes_with_data']} communes")
    cut = out["baseline"]["province"]["co2e_g"] - out["project"]["province"]["co2e_g"]
    echo(f"  reduction from the pilot sites (baseline − project): {cut / 1e6:,.3f} t CO2e")
    return out


def step_exports(year: int, out_dir: Path, echo: Echo) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {
        "inventory_json": out_dir / f"inventory_{year}.json",
        "inventory_xlsx": out_dir / f"inventory_{year}.xlsx",
        "inventory_csv": out_dir / f"inventory_{year}.csv",
        "report_xlsx": out_dir / f"bao_cao_{year}.xlsx",
        "report_html": out_dir / f"bao_cao_{year}.html",
    }
    for key in ("inventory_json", "inventory_xlsx", "inventory_csv"):
        run_cli(["export", "inventory", "--year", str(year), "-o", str(outputs[key])], f"export {key}")
    for key in ("report_xlsx", "report_html"):
        run_cli(["export", "report", "--year", str(year), "-o", str(outputs[key])], f"export {key}")
    for key, p in outputs.items():
        if not p.exists():
            raise DemoError(f"(export) {key}: {p} was not written")
        echo(f"  {key:<15} {p}")
    return outputs


def urls(settings: Settings, report: Path | None = None) -> list[str]:
    base = f"http://{settings.host}:{settings.port}"
    out = [f"{base}/maps/          — bản đồ / the maps (start here)",
           f"{base}/collections    — OGC API Features: add this URL in QGIS (Layer › Add WFS/OGC API Features)",
           f"{base}/docs           — the API (OpenAPI)"]
    if report is not None:
        out.append(f"{report}  — báo cáo năm / the annual report")
    return out


def run_demo(settings: Settings, *, seed: int = 2025, scale: str = "small", year: int = 2025,
             work_dir: Path | None = None, echo: Echo = print) -> DemoResult:
    """Run every step but serving; raise :class:`DemoError` at the first failure. The sample and the
    outputs go under ``work_dir`` (default ``$CROPMRV_HOME``): ``sample/`` and ``out/``."""
    work_dir = Path(work_dir or settings.home).resolve()
    t0 = time.perf_counter()
    secs: dict[str, float] = {}

    def lap(name: str) -> None:
        secs[name] = round(time.perf_counter() - t0 - sum(secs.values()), 2)

    echo("[bold]1/7 database[/]")
    step_database(settings, echo)
    lap("database")
    echo("[bold]2/7 sample province (GENERATED)[/]")
    sample_dir, manifest, reused = step_sample(work_dir, seed, scale, echo)
    lap("sample")
    out_dir = work_dir / "out"
    echo("[bold]3/7 ingest every file (validation reports)[/]")
    done, notices = step_ingest(settings, sample_dir, manifest, out_dir / "ingest", manifest.get("year", year), echo)
    step_targets(sample_dir, manifest, echo)
    lap("ingest")
    echo(f"[bold]4/7 estimates {year}: baseline and project[/]")
    step_estimates(year, echo)
    lap("estimates")
    echo("[bold]5/7 roll-up commune → province[/]")
    step_rollup(year, echo)
    lap("rollup")
    echo("[bold]6/7 inventory export and annual report[/]")
    outputs = step_exports(year, out_dir, echo)
    lap("exports")
    res = DemoResult(sample_dir, out_dir, reused, done, outputs, secs, notices)
    echo(f"[bold]7/7 done[/] in {sum(secs.values()):.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in secs.items())})")
    return res
