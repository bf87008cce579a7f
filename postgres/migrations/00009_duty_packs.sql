-- Duty packs edited or added by admins. A stored pack with the id of a
-- shipped one replaces it; deleting it brings the shipped one back.

-- +goose Up
CREATE TABLE duty_packs (
	id         text PRIMARY KEY,
	body       text NOT NULL, -- the pack's JSON, validated
	updated_at timestamptz NOT NULL,
	version    bigint NOT NULL DEFAULT 1
);

-- +goose Down
DROP TABLE duty_packs;
