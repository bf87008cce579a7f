-- +goose Up
-- A member organisation's lists: its incidents newest first (or by last
-- update) without walking every organisation's. Measured with 1,000
-- organisations on 100,000 incidents (docs/benchmarks.md, "Organisations"):
-- a member's first page cost 66–82 ms of server CPU, the coordinator's 2 ms.
-- 00032–00035 are other work's.
CREATE INDEX incidents_org_created ON incidents (organisation_id, created_at, id);
CREATE INDEX incidents_org_updated ON incidents (organisation_id, updated_at, id);

-- +goose Down
DROP INDEX incidents_org_updated;
DROP INDEX incidents_org_created;
