"""`cropmrv sample generate`: write the GENERATED sample province (thin wrapper over cropmrv.sample)."""

from __future__ import annotations

from pathlib import Path

import typer

from cropmrv.cli.common import console, user_errors

app = typer.Typer(help="Dữ liệu mẫu sinh tự động / the generated sample province.", no_args_is_help=True)


@app.command("generate")
def generate(
    seed: int = typer.Option(2025, help="Random seed: the same seed and scale give the same files."),
    scale: str = typer.Option("small", help="small (a few thousand zones and parcels, seconds) or province "
                              "(about a million parcels, for benchmarks)."),
    out: Path = typer.Option(None, "-o", "--out", help="Output folder (default $CROPMRV_HOME/sample/<scale>-<seed>)."),
) -> None:
    """Generate crop zones, parcels, planning, irrigation, pilot sites, activity and targets for the 102 communes."""
    from cropmrv.sample import generate as gen
    from cropmrv.settings import get_settings

    out = out or (get_settings().home / "sample" / f"{scale}-{seed}")
    with user_errors():
        r = gen(out, seed=seed, scale=scale, progress=lambda step, s: console.print(f"  {step}: {s:.1f} s"))
    print_summary(r.manifest, r.out_dir)


def print_summary(m: dict, out_dir: Path) -> None:
    from rich.table import Table

    from cropmrv.sample import crop_totals

    c = m["counts"]
    console.print(f"[bold]sample[/] {m['key']} → {out_dir} (GENERATED data, see README.md there)")
    console.print(f"  {c['crop_zone_rows']} crop-zone rows ({c['crop_zones_physical']} physical zones), "
                  f"{c['parcels']:,} parcels, {c['planning_zones']} planning zones, {c['irrigation_assets']} "
                  f"irrigation works, {c['pilot_sites']} pilot sites, {c['activity_rows']:,} activity rows; "
                  f"{len(m['files'])} files, {m['total_bytes'] / 1e6:.1f} MB in {sum(m['seconds'].values()):.1f} s")
    t = Table("crop", "target ha", "sample ha", "diff %", title="sown area vs statistics (targets.csv)")
    for r in crop_totals(m):
        t.add_row(r["crop"], f"{r['target_ha']:,.0f}", f"{r['sample_ha']:,.0f}",
                  "" if r["diff_pct"] is None else f"{r['diff_pct']:+.2f}")
    console.print(t)
