-- When an incident was first classified as significant (major): DORA's
-- 4-hour clock for the initial notification starts there.

-- +goose Up
ALTER TABLE incidents ADD COLUMN classified_at TEXT;
UPDATE incidents SET classified_at = created_at WHERE significant;

-- +goose Down
ALTER TABLE incidents DROP COLUMN classified_at;
