-- Where an observed value falls inside wider indicators (vigil.ScopeKey):
-- addresses as fixed-width hex, names with their labels reversed, so that
-- an address block or a parent domain is a range of keys and
-- retro-hunting finds what lies in it by index instead of reading every
-- address and name ever seen. Rows stored before this get their keys from
-- the first start after it (the settings row says the work is pending).

-- +goose Up
ALTER TABLE observables ADD COLUMN scope_key text COLLATE "C";
ALTER TABLE alert_observables ADD COLUMN scope_key text COLLATE "C";
CREATE INDEX observables_scope ON observables (scope_key) WHERE scope_key IS NOT NULL;
CREATE INDEX alert_observables_scope ON alert_observables (scope_key) WHERE scope_key IS NOT NULL;
INSERT INTO settings (key, value, updated_at) VALUES ('scope_keys', '"pending"', now());

-- +goose Down
DELETE FROM settings WHERE key = 'scope_keys';
DROP INDEX alert_observables_scope;
DROP INDEX observables_scope;
ALTER TABLE alert_observables DROP COLUMN scope_key;
ALTER TABLE observables DROP COLUMN scope_key;
