-- 0003: links replaced by a later `cropmrv ingest links` load are kept, as the layers keep theirs.
--
-- A links file replaces every link of the works it names (ingest/links.py); until now the replaced
-- rows were deleted. They move here instead, with the load that replaced them, so a link seen on
-- last year's map can still be traced to the file that made it.

CREATE TABLE irrigation_service_history (LIKE irrigation_service);
ALTER TABLE irrigation_service_history
    ADD COLUMN replaced_by bigint REFERENCES dataset(id),
    ADD COLUMN replaced_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX irrigation_service_history_asset ON irrigation_service_history (asset_code);
