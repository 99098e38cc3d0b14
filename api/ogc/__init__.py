"""OGC API – Features (Parts 1–3) and vector tiles straight from PostGIS."""
