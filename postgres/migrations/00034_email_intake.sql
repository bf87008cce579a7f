-- E-mail intake (docs/email-intake.md).
--
-- Evidence may belong to an alert before any incident: a reported message
-- and its attachments, kept with their chain of custody from the moment
-- they arrive.
--
-- A grouping rule that matches on any one of its keys (an e-mail campaign:
-- same sender domain, link, attachment or subject) keeps every key of a
-- group in alert_group_keys.

-- +goose Up
ALTER TABLE evidence ALTER COLUMN incident_id DROP NOT NULL;
ALTER TABLE evidence ADD COLUMN alert_id bigint REFERENCES alerts (id);
ALTER TABLE evidence ADD CONSTRAINT evidence_owner CHECK (incident_id IS NOT NULL OR alert_id IS NOT NULL);
CREATE INDEX evidence_alert ON evidence (alert_id, id) WHERE alert_id IS NOT NULL;

CREATE TABLE alert_group_keys (
	group_key text NOT NULL,
	group_id  bigint NOT NULL REFERENCES alert_groups (id),
	PRIMARY KEY (group_key, group_id)
);
CREATE INDEX alert_group_keys_group ON alert_group_keys (group_id);

-- +goose Down
DROP TABLE alert_group_keys;
ALTER TABLE custody DISABLE TRIGGER custody_no_change;
DELETE FROM custody WHERE evidence_id IN (SELECT id FROM evidence WHERE incident_id IS NULL);
ALTER TABLE custody ENABLE TRIGGER custody_no_change;
DELETE FROM evidence WHERE incident_id IS NULL;
DROP INDEX evidence_alert;
ALTER TABLE evidence DROP CONSTRAINT evidence_owner;
ALTER TABLE evidence DROP COLUMN alert_id;
ALTER TABLE evidence ALTER COLUMN incident_id SET NOT NULL;
