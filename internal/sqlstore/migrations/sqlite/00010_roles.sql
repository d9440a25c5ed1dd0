-- Roles: a user's role names, sorted, without duplicates, joined by single
-- spaces ('' for none). admin is one of them: every account with the admin
-- flag starts with the role 'admin'. The admin column stays, written in
-- step with roles by the store, so the down migration loses nothing the
-- previous version knew.
--
-- A column with a constant default needs no rebuild of the table.

-- +goose Up
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';
UPDATE users SET roles = 'admin' WHERE admin = 1;

-- +goose Down
ALTER TABLE users DROP COLUMN roles;
