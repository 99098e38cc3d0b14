"""A realistic, deterministic, GENERATED sample of the province for demos, tests and benchmarks.

``generate(out_dir, seed, scale)`` writes crop zones, cadastral parcels, planning zones, irrigation
works, pilot sites, activity tables and plan targets for the 102 real communes of Đắk Lắk, as GIS
officers would hand them over. See ``cropmrv/sample/README.md`` (copied into every generated folder).
"""

from .config import GENERATOR_VERSION
from .generate import SampleResult, crop_totals, generate, sample_key

__all__ = ["GENERATOR_VERSION", "SampleResult", "crop_totals", "generate", "sample_key"]
