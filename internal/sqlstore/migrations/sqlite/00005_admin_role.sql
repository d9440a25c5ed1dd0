-- The admin role: an account with admin = 1 may use the /admin page.
-- Every existing account starts without it; `gatehouse user admin` or
-- `gatehouse user create --admin` grants the first one.
--
-- A column with a constant default needs no rebuild of the table.

-- +goose Up
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN admin;
