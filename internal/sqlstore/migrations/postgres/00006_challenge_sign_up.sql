-- challenges.sign_up marks the sign-up's own first code (a phone sign-up's
-- SMS): proving it keeps the password and factors the same person set a
-- moment before, where any other first proof of a never-proven address
-- claims the account (docs/security.md, "Proving an address, and claiming an account").
--
-- A column with a constant default needs no rebuild of the table.

-- +goose Up
ALTER TABLE challenges ADD COLUMN sign_up boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE challenges DROP COLUMN sign_up;
