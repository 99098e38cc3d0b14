"""The one settings object.

Every part of cropmrv (CLI, API, ingest, engine, maps) reads configuration from here, so that a
province changes behaviour with environment variables (``CROPMRV_*``) or a ``.env`` file and never
with code. The province itself is configuration: another province's boundary file and code load
the same way.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DATA = Path(__file__).resolve().parent / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CROPMRV_", env_file=".env", extra="ignore")

    # --- database -------------------------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="An existing PostgreSQL/PostGIS server. When unset, the embedded cluster in "
        "CROPMRV_HOME/pg is used (started by `cropmrv db up`).",
    )
    home: Path = Field(default=Path(".cropmrv"), description="Folder of the embedded cluster and caches.")
    pg_port: int = Field(default=55432, description="Localhost TCP port of the embedded cluster.")
    pg_bin: Path | None = Field(default=None, description="Folder holding initdb/pg_ctl; found if unset.")
    pg_database: str = "cropmrv"
    pg_user: str = "cropmrv"
    pg_os_user: str = Field(
        default="postgres",
        description="Unprivileged OS user that runs the embedded cluster when cropmrv runs as root "
        "(initdb refuses root).",
    )

    # --- province -------------------------------------------------------------------------------
    province_code: str = Field(default="66", description="GSO code of the province this platform serves.")
    province_name: str = "Đắk Lắk"
    province_dir: Path | None = Field(
        default=None,
        description="Folder with the province's admin files (communes gpkg, outline, lineage csv); "
        "defaults to the packaged data for province_code.",
    )
    preferred_epsg: int = Field(default=9218, description="The province's official VN-2000 TM-3 zone.")

    # --- reporting ------------------------------------------------------------------------------
    report_deadline: str = Field(default="11-10", description="Annual submission deadline, MM-DD.")
    default_factor_set: str = "ipcc2019-sea"
    default_gwp: str = "ar5"

    # --- api ------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    public_read: bool = Field(default=True, description="Anonymous users may read layers and results.")
    jwt_secret: str | None = None
    max_upload_mb: int = 200
    default_items_limit: int = 100
    max_items_limit: int = 10000
    online_basemaps: bool = Field(default=False, description="Offer online tile layers in web maps.")

    @property
    def pg_home(self) -> Path:
        return self.home.resolve() / "pg"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def province_data_dir(self) -> Path:
        return self.province_dir or (PACKAGE_DATA / "provinces" / self.province_code)

    def sqlalchemy_url(self) -> str:
        """URL for SQLAlchemy with the psycopg 3 driver."""
        url = self.database_url or embedded_url(self)
        for prefix in ("postgresql+psycopg2://", "postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url


def embedded_url(s: Settings) -> str:
    return f"postgresql://{s.pg_user}@127.0.0.1:{s.pg_port}/{s.pg_database}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
