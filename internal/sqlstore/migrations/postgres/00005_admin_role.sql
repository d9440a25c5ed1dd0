-- The admin role: an account with admin = true may use the /admin page.
-- Every existing account starts without it; `gatehouse user admin` or
-- `gatehouse user create --admin` grants the first one.
--
-- A column with a constant default is added without rewriting the table.

-- +goose Up
ALTER TABLE users ADD COLUMN admin boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE users DROP COLUMN admin;
