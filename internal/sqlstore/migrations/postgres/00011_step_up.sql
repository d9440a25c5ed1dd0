-- Step-up: an MFA token may raise a live session to aal2 instead of
-- starting a new one. session_id names that session (NULL for a sign-in's
-- token). No foreign key: the step-up checks that the session is live
-- when the token is used, the token dies within minutes anyway, and
-- SQLite cannot drop a column that has one (the down migration).
--
-- A column without a default is added without rewriting the table.

-- +goose Up
ALTER TABLE mfa_tokens ADD COLUMN session_id text COLLATE "C";

-- +goose Down
ALTER TABLE mfa_tokens DROP COLUMN session_id;
