-- What intake could not read in an alert's notifications (a start time of
-- "yesterday") and what it did instead, as a JSON array of {field,
-- message}; NULL when there was nothing to say, which is nearly always,
-- so a new alert writes no more than before.

-- +goose Up
ALTER TABLE alerts ADD COLUMN warnings TEXT;

-- +goose Down
ALTER TABLE alerts DROP COLUMN warnings;
