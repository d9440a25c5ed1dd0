-- Passkeys (WebAuthn credentials) and the server side of the WebAuthn
-- ceremonies that register and use them. Same conventions as 00001.

-- +goose Up
-- One row per credential. id is the credential ID the authenticator chose
-- (raw bytes, unique across users: WebAuthn §7.1 step 22 refuses a
-- credential ID registered already). sign_count is the last signature
-- counter seen, an unsigned 32-bit number. transports is a JSON array of
-- the transports the browser reported ('[]' for none). user_verified,
-- backup_eligible and backup_state are 0/1. last_used_at is NULL until the
-- first sign-in with the passkey.
CREATE TABLE passkeys (
    id                 BLOB    NOT NULL,
    user_id            TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name               TEXT    NOT NULL DEFAULT '',
    public_key         BLOB    NOT NULL,
    attestation_format TEXT    NOT NULL DEFAULT '',
    aaguid             BLOB    NOT NULL,
    sign_count         INTEGER NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports         TEXT    NOT NULL DEFAULT '[]',
    user_verified      INTEGER NOT NULL DEFAULT 0,
    backup_eligible    INTEGER NOT NULL DEFAULT 0,
    backup_state       INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER,
    CONSTRAINT passkeys_pkey PRIMARY KEY (id)
) STRICT;

-- Listing a user's passkeys, and the cascade from users.
CREATE INDEX passkeys_user_id_idx ON passkeys (user_id, created_at, id);

-- A ceremony lives minutes and is taken (deleted) once. user_id is NULL for
-- a usernameless sign-in (or an email with no account); a deleted user
-- takes its ceremonies along. mfa_token_id binds a second-factor ceremony
-- to its MFA token; it has no foreign key because MFA tokens may live in a
-- shared cache instead. data is the relying party's session data, opaque.
CREATE TABLE webauthn_ceremonies (
    id           TEXT    NOT NULL PRIMARY KEY,
    purpose      TEXT    NOT NULL,
    user_id      TEXT    REFERENCES users (id) ON DELETE CASCADE,
    mfa_token_id TEXT,
    data         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

-- The cascade from users, and the hourly purge of expired ceremonies.
CREATE INDEX webauthn_ceremonies_user_id_idx ON webauthn_ceremonies (user_id);
CREATE INDEX webauthn_ceremonies_expires_at_idx ON webauthn_ceremonies (expires_at);

-- +goose Down
DROP TABLE webauthn_ceremonies;
DROP TABLE passkeys;
