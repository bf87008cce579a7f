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

-- +goose Up
ALTER TABLE incidents ADD COLUMN significant_cyber_threat INTEGER NOT NULL DEFAULT 0 CHECK (significant_cyber_threat IN (0, 1));
ALTER TABLE obligations ADD COLUMN voluntary INTEGER NOT NULL DEFAULT 0 CHECK (voluntary IN (0, 1));

-- +goose Down
DELETE FROM obligations WHERE voluntary;
ALTER TABLE obligations DROP COLUMN voluntary;
ALTER TABLE incidents DROP COLUMN significant_cyber_threat;
