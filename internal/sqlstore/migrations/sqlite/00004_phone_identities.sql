-- Phone identities: an account may have a phone and no email (sign-up by
-- SMS code), so users.email becomes optional; the unique constraint still
-- holds for the emails there are (NULLs never collide). challenges.target
-- is what completing a challenge sets: the new phone of a phone change,
-- whose challenge is keyed by the user rather than by the number.
--
-- SQLite cannot drop a NOT NULL, so users is rebuilt, the way SQLite's
-- documentation prescribes: with foreign keys off (DROP TABLE would
-- otherwise delete every session, factor and challenge through ON DELETE
-- CASCADE), in one transaction. Every row keeps its id, so every reference
-- still holds.
-- PRAGMA foreign_keys does nothing inside a transaction, hence NO
-- TRANSACTION here and an explicit BEGIN. The store's writer is a single
-- connection, so every statement below runs on the same one.

-- +goose NO TRANSACTION
-- +goose Up
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_new (
    id             TEXT    NOT NULL PRIMARY KEY,
    email          TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0,
    phone          TEXT,
    phone_verified INTEGER NOT NULL DEFAULT 0,
    name           TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT    NOT NULL DEFAULT '',
    disabled_at    INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_phone_key UNIQUE (phone)
) STRICT;
INSERT INTO users_new (id, email, email_verified, phone, phone_verified, name,
    password_hash, disabled_at, created_at, updated_at)
SELECT id, email, email_verified, phone, phone_verified, name,
    password_hash, disabled_at, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
ALTER TABLE challenges ADD COLUMN target TEXT NOT NULL DEFAULT '';
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
ALTER TABLE challenges DROP COLUMN target;
CREATE TABLE users_old (
    id             TEXT    NOT NULL PRIMARY KEY,
    email          TEXT    NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    phone          TEXT,
    phone_verified INTEGER NOT NULL DEFAULT 0,
    name           TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT    NOT NULL DEFAULT '',
    disabled_at    INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_phone_key UNIQUE (phone)
) STRICT;
INSERT INTO users_old (id, email, email_verified, phone, phone_verified, name,
    password_hash, disabled_at, created_at, updated_at)
SELECT id, email, email_verified, phone, phone_verified, name,
    password_hash, disabled_at, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_old RENAME TO users;
COMMIT;
PRAGMA foreign_keys = ON;
