-- Reporting duties (issue 24).
--
-- Report Fraud replaced Action Fraud on 4 December 2025 (England, Wales
-- and Northern Ireland; same number, 0300 123 2040). The triage outcome,
-- the contact role and the uk-crime pack's duty take the new name:
-- incidents referred before read "referred to Report Fraud", saved views
-- and contacts keep working. The API still takes the old values
-- (vigil.Status.Canonical, vigil.ContactRole.Canonical).
--
-- Obligations move to the pack's new duty id, whatever their status, so
-- a report already made is not asked for again; what was submitted keeps
-- its words (it went to Action Fraud), while a pending one reads the new
-- service at once rather than at the incident's next change. An
-- organisation that replaced the uk-crime pack keeps its own ids.
--
-- digital_service_impact: the incident has a substantial impact on the
-- provision of a digital service the organisation provides, the UK NIS
-- trigger for a relevant digital service provider (reg. 12(3)), which had
-- borrowed the essential-service flag. Incidents that had it keep their
-- RDSP duty: the flag starts as the essential-service flag where the
-- organisation's profile says it is an RDSP.

-- +goose Up
ALTER TABLE incidents ADD COLUMN digital_service_impact boolean NOT NULL DEFAULT false;
UPDATE incidents SET digital_service_impact = essential_service
	WHERE essential_service AND EXISTS (SELECT 1 FROM settings WHERE key = 'profile' AND value LIKE '%"nis_rdsp":true%');
UPDATE incidents SET status = 'referred_report_fraud' WHERE status = 'referred_action_fraud';
UPDATE saved_views SET query = REPLACE(query, 'referred_action_fraud', 'referred_report_fraud') WHERE query LIKE '%referred_action_fraud%';
UPDATE contacts SET roles = REPLACE(roles, '"action_fraud"', '"report_fraud"') WHERE roles LIKE '%"action_fraud"%';
UPDATE obligations SET duty = 'report-fraud'
	WHERE pack = 'uk-crime' AND duty = 'action-fraud' AND NOT EXISTS (SELECT 1 FROM duty_packs WHERE id = 'uk-crime');
UPDATE obligations SET detail = REPLACE(REPLACE(REPLACE(detail, 'Action Fraud', 'Report Fraud'), 'actionfraud.police.uk', 'reportfraud.police.uk'),
		'"action_fraud"', '"report_fraud"')
	WHERE pack = 'uk-crime' AND duty = 'report-fraud' AND status = 'pending';

-- +goose Down
UPDATE incidents SET status = 'referred_action_fraud' WHERE status = 'referred_report_fraud';
UPDATE saved_views SET query = REPLACE(query, 'referred_report_fraud', 'referred_action_fraud') WHERE query LIKE '%referred_report_fraud%';
UPDATE contacts SET roles = REPLACE(roles, '"report_fraud"', '"action_fraud"') WHERE roles LIKE '%"report_fraud"%';
UPDATE obligations SET duty = 'action-fraud' WHERE pack = 'uk-crime' AND duty = 'report-fraud';
ALTER TABLE incidents DROP COLUMN digital_service_impact;
