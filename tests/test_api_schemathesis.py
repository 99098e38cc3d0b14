"""Property-based testing of every documented operation from /openapi.json (in process).

Zero server errors, and every status code and content type must be one the document declares.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, status_code_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance

from cropmrv.api.app import create_app
from cropmrv.db.engine import make_engine
from cropmrv.settings import Settings

from .api_helpers import module_database, seed

# The app is built at import (schemathesis needs the schema to parametrize); it opens no connection
# until the first data request, and the fixture points it at the seeded database before that.
APP = create_app(Settings())
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def database(pg_cluster):
    with module_database(pg_cluster, "st") as s:
        eng = make_engine(s)
        seed(eng, zones=50)
        eng.dispose()
        if getattr(APP.state, "_ready", False):
            APP.state.engine.dispose()
        APP.state.settings, APP.state._ready = s, False
        yield
        APP.state.engine.dispose()


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_operations(case):
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])
