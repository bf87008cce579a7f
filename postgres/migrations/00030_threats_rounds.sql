-- Reporting duties, the rest of issue 24.
--
-- significant_cyber_threat: the incident record is (or holds) a
-- significant cyber threat, which a DORA financial entity may notify to
-- its competent authority (DORA Art. 19(2)) and which asks for a word to
-- the clients or recipients potentially affected (DORA Art. 19(3), NIS2
-- Art. 23(2)). Nothing stored before had it.
--
-- obligations.voluntary: the stage may be sent and is not owed (DORA's
-- notification of a significant cyber threat): status 'optional' until it
-- is sent or set aside, and never counted among the duties met or missed.
--
-- obligations.round: a stage owed on request may be asked for again once
-- its report is sent (NIS2's intermediate report, DORA's updated
-- intermediate report); each request is a row of its own, round 2, 3 and
-- so on, and every report is kept. Rows stored before are round 1, and
-- the unique key takes the round.

-- +goose Up
ALTER TABLE incidents ADD COLUMN significant_cyber_threat boolean NOT NULL DEFAULT false;
ALTER TABLE obligations ADD COLUMN voluntary boolean NOT NULL DEFAULT false;
ALTER TABLE obligations ADD COLUMN round integer NOT NULL DEFAULT 1 CHECK (round >= 1);
ALTER TABLE obligations DROP CONSTRAINT obligations_incident_id_pack_duty_stage_key;
ALTER TABLE obligations ADD CONSTRAINT obligations_stage_round_key UNIQUE (incident_id, pack, duty, stage, round);

-- +goose Down
-- The later requests and the voluntary stages go: an older Vigil has one
-- row a stage and owes nothing it may choose not to send.
DELETE FROM obligations WHERE round > 1 OR voluntary;
ALTER TABLE obligations DROP CONSTRAINT obligations_stage_round_key;
ALTER TABLE obligations ADD CONSTRAINT obligations_incident_id_pack_duty_stage_key UNIQUE (incident_id, pack, duty, stage);
ALTER TABLE obligations DROP COLUMN round;
ALTER TABLE obligations DROP COLUMN voluntary;
ALTER TABLE incidents DROP COLUMN significant_cyber_threat;
